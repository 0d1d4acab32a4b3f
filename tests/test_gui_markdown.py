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
