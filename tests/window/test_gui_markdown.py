"""The chat view's Markdown: what it renders, and that streaming renders exactly what a full render does."""

from __future__ import annotations

from desktop_app.markdown_render import (
    DARK,
    LIGHT,
    StreamingMarkdown,
    document_html,
    inline,
    render_markdown,
    split_blocks,
)

SAMPLE = """# Reading a file

Here is **how** to read a file in *Python*, with `open()` and a [link](https://example.com):

```python
def read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()
```

1. First step
2. Second step
   - nested item
3. Third

> A quote that spans
> two lines.

| Name | Value |
|------|-------|
| a    | 1     |

---

Final paragraph with ~~strike~~ and snake_case_word, and an unclosed
```bash
echo still streaming"""


def test_blocks():
    blocks = split_blocks(SAMPLE)
    kinds = [b.split("\n", 1)[0][:3] for b in blocks]
    assert kinds == ["# R", "Her", "```", "1. ", "> A", "| N", "---", "Fin", "```"]


def test_rendering():
    out = render_markdown(SAMPLE, LIGHT, copy_label="Copy")
    assert "<h2>Reading a file</h2>" in out.html
    assert "<b>how</b>" in out.html and "<i>Python</i>" in out.html and "<s>strike</s>" in out.html
    assert '<a href="https://example.com"' in out.html
    assert "snake_case_word" in out.html  # no italics inside words
    assert 'href="copy:0"' in out.html and 'href="copy:1"' in out.html
    assert out.code_blocks[0].startswith("def read(path: str) -> str:")
    assert out.code_blocks[1] == "echo still streaming"  # an unclosed fence is code till the end
    assert "<ol" in out.html and "<ul>" in out.html and "<blockquote>" in out.html and "<hr/>" in out.html
    assert "<th>Name</th>" in out.html
    assert "color:" in out.html  # Pygments colours, inline


def test_html_in_the_text_is_shown_not_executed():
    assert inline("<script>alert(1)</script> & <b>") == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;"
    assert 'href="javascript' not in inline("[x](javascript:alert(1))")


def test_streaming_gives_the_same_html_as_a_full_render_at_every_step():
    for palette in (LIGHT, DARK):
        stream = StreamingMarkdown(palette, "Copy")
        for end in range(1, len(SAMPLE) + 1, 3):
            prefix = SAMPLE[:end]
            _new, tail = stream.update(prefix)
            whole = render_markdown(prefix, palette, "Copy")
            assert document_html(stream.final_html + [tail], palette) == whole.html, prefix
            assert stream.all_code_blocks == whole.code_blocks


def test_final_blocks_are_rendered_once():
    stream = StreamingMarkdown()
    rendered = 0
    for end in range(1, len(SAMPLE) + 1):
        new, _tail = stream.update(SAMPLE[:end])
        rendered += len(new)
    assert rendered == len(split_blocks(SAMPLE)) - 1  # every block but the open last one, once


def test_tables_keep_alignment_and_inline_markdown():
    text = "| Left | Centre | Right |\n|:-----|:------:|------:|\n| **a** | `b` | [c](https://c.example) |\n| d | e | f |"
    out = render_markdown(text).html
    assert '<tr style="background-color:' in out  # the header row is shaded
    assert '<th align="left">Left</th>' in out and '<th align="center">Centre</th>' in out
    assert '<td align="right"><a href="https://c.example"' in out
    assert "<td align=\"left\"><b>a</b></td>" in out and "&#8202;b&#8202;</code>" in out
    assert out.count("<tr") == 3
    assert render_markdown("a | b\n--- | ---\n1 | 2").html.count("<td>") == 2  # GFM: outer pipes optional
    assert "<table" not in render_markdown("| not | a table |").html  # no delimiter row: a paragraph


def test_nested_lists():
    text = "1. one\n   - a\n     1. deep\n   - b\n2. two\n\n5) starts at five\n6) six\n\n- loose\n\n- list"
    out = render_markdown(text).html
    assert '<ol start="1"><li>one<ul><li>a<ol start="1"><li>deep</li></ol></li><li>b</li></ul></li><li>two</li></ol>' in out
    assert '<ol start="5"><li>starts at five</li><li>six</li></ol>' in out
    assert "<ul><li><p>loose</p></li><li><p>list</p></li></ul>" in out  # blank lines between items: paragraphs


def test_code_fences():
    text = ("~~~js extra words\nlet x = 1;\n~~~\n\n````markdown\n```python\nnested\n```\n````\n\n"
            "    indented code\n\n- item\n\n  ```sh\n  ls\n  ```\n")
    out = render_markdown(text)
    assert out.code_blocks == ["let x = 1;", "```python\nnested\n```", "indented code", "ls"]
    assert [f'href="copy:{i}"' in out.html for i in range(4)] == [True] * 4
    assert ">js</span>" in out.html and ">markdown</span>" in out.html and ">text</span>" in out.html
    assert "<li>" in out.html and ">sh</span>" in out.html  # a fence inside a list item
    escaped = render_markdown("```html\n<script>x</script>\n```").html
    assert "<script" not in escaped and "&lt;/" in escaped  # code is escaped


def test_raw_html_and_unsafe_links_are_text():
    out = render_markdown("<div onclick=x>hi</div>\n\n[a](javascript:alert(1)) [b](relative.md) <https://ok.example>").html
    assert "&lt;div onclick=x&gt;hi&lt;/div&gt;" in out
    assert "[a](javascript:alert(1))" in out and 'href="javascript' not in out  # shown as written
    assert 'href="relative.md"' not in out and " b " in out  # only links that open something become links
    assert '<a href="https://ok.example"' in out


def test_streaming_nested_blocks_matches_a_full_render():
    text = ("Intro with https://example.com/x.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n1. one\n   - two\n\n"
            "   ```py\n   code()\n   ```\n2. three\n\n> quote\n> - in a list\n\nsetext\n---\n\n~~~\nunclosed")
    stream = StreamingMarkdown()
    for end in range(1, len(text) + 1):
        _new, tail = stream.update(text[:end])
        whole = render_markdown(text[:end])
        assert document_html(stream.final_html + [tail], LIGHT) == whole.html, text[:end]
        assert stream.all_code_blocks == whole.code_blocks


def test_the_last_render_of_a_stream_reuses_its_final_blocks():
    stream = StreamingMarkdown(DARK, "Copy")
    for end in range(1, len(SAMPLE) + 1, 7):
        stream.update(SAMPLE[:end])
    finished = SAMPLE + "\n```\n\nAnd a last paragraph."
    whole = render_markdown(finished, DARK, "Copy")
    reused = stream.render(finished)
    assert (reused.html, reused.code_blocks) == (whole.html, whole.code_blocks)
    other = "# Something else\n\nentirely"  # not a continuation: rendered from scratch
    assert stream.render(other).html == render_markdown(other, DARK, "Copy").html
