"""Text matching, the metric registry and the retrieval metrics, on hand-made cases with values worked out by hand."""

from __future__ import annotations

import pytest

from knowledge.evaluation.metrics import (
    SUMMARY_KEYS,
    Metric,
    MetricError,
    available_metrics,
    compute_metrics,
    register_metric,
)
from knowledge.evaluation.sample import (
    EvalSample,
    GoldSource,
    RetrievedContext,
    detect_language,
    matches_gold,
)
from knowledge.textmatch import (
    is_refusal,
    parse_citations,
    rouge_l,
    split_sentences,
    strip_citations,
    token_f1,
    tokens,
)

C = RetrievedContext


# ------------------------------------------------------------------ text matching
def test_tokens_drop_stopwords_and_stem_lightly():
    assert tokens("The dough rests for 12 hours") == ["dough", "rest", "12", "hour"]
    assert tokens("It was refrigerated") == tokens("refrigerate it") == ["refrigerat"]
    assert tokens("Bake at 3.5 degrees, not 4") == ["bak", "3.5", "degre", "not", "4"]
    assert tokens("degree") == tokens("degrees") == ["degre"]


def test_chinese_tokens_are_jieba_words_without_function_words():
    assert tokens("员工享有五天丧假") == ["员工", "享有", "五天", "丧假"]
    assert tokens("员工有五天的带薪丧假。") == ["员工", "有", "五天", "带薪", "丧假"]


def test_token_f1_by_hand():
    # pred [dough rest 12 hour], ref [dough rest 12 hour fridg]: 4 shared, P 1, R 4/5, F1 = 1.6/1.8
    assert token_f1("The dough rests for 12 hours", "Dough should rest 12 hours in the fridge") == pytest.approx(8 / 9)
    # 员工 五天 丧假 shared: P 3/4, R 3/5, F1 = 0.9/1.35
    assert token_f1("员工享有五天丧假", "员工有五天的带薪丧假。") == pytest.approx(2 / 3)
    assert token_f1("completely different", "nothing shared here") == 0.0
    assert token_f1("", "dough") == 0.0


def test_rouge_l_by_hand():
    # cat sat mat dog vs cat dog sat mat: LCS "cat sat mat" = 3, P = R = 3/4
    assert rouge_l("cat sat mat dog", "cat dog sat mat") == pytest.approx(0.75)
    # 员工 享有 五天 丧假 vs 员工 有 五天 带薪 丧假: LCS 员工 五天 丧假 = 3, P 3/4, R 3/5
    assert rouge_l("员工享有五天丧假", "员工有五天的带薪丧假。") == pytest.approx(2 / 3)
    assert rouge_l("dog cat", "cat dog") == pytest.approx(0.5)


def test_sentences_english_keep_abbreviations_decimals_and_citations():
    text = "Refrigerate it for 12 hours [1]. Bake at 250°C, e.g. in a pot.[2] Dr. Lee pays 3.5 dollars! Done"
    assert [s.text for s in split_sentences(text)] == [
        "Refrigerate it for 12 hours [1].", "Bake at 250°C, e.g. in a pot.[2]", "Dr. Lee pays 3.5 dollars!", "Done"]
    assert [s.text for s in split_sentences("Ask J. Smith. Bake at 250°C. Cool it.")] == [
        "Ask J. Smith.", "Bake at 250°C.", "Cool it."]
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text


def test_sentences_chinese_and_lines():
    text = "面团需要冷藏12到16小时。[1]然后以250度烘烤；注意安全！[2]"
    assert [s.text for s in split_sentences(text)] == ["面团需要冷藏12到16小时。[1]", "然后以250度烘烤；", "注意安全！[2]"]
    assert [s.text for s in split_sentences("- one\n- two [1]\n[2]\n\n")] == ["- one", "- two [1]\n[2]"]
    assert split_sentences("") == []


def test_citations_in_all_shapes():
    assert parse_citations("a [1,2] b [2][3] c【4】 d [ 5 ，6 ]") == [1, 2, 3, 4, 5, 6]
    assert parse_citations("in 2024 [sic] no [x]") == []
    assert strip_citations("Bake it [1][2]. Now.") == "Bake it . Now."


def test_refusals_in_both_languages_and_not_a_long_answer():
    assert is_refusal("The documents do not contain the answer.")
    assert is_refusal("I could not find anything about this in notes, so I won't guess.")
    assert is_refusal("文档中没有相关信息。")
    assert is_refusal("抱歉，资料中没有提到这个问题。")
    assert not is_refusal("Refrigerate the dough for 12 hours [1].")
    assert not is_refusal("Bake it at 250°C [1]. Cool it. The source does not mention a lid.")


def test_language_detection():
    assert detect_language("How long should dough proof?") == "en"
    assert detect_language("面团要发酵多久？") == "zh"
    assert detect_language("What are the opening hours of 故宫?") == "en"


# ------------------------------------------------------------------ gold sources
def test_gold_matches_by_suffix_name_page_and_heading():
    ctx = C(1, "/home/u/docs/en/hr-leave-policy.md", "Article 14. Bereavement leave: five days.", heading="Leave > Bereavement")
    assert matches_gold(ctx, GoldSource("en/hr-leave-policy.md"))
    assert matches_gold(ctx, GoldSource("hr-leave-policy.md"))
    assert not matches_gold(ctx, GoldSource("leave-policy.md"))  # a suffix of the name is not the file
    assert matches_gold(ctx, GoldSource("hr-leave-policy.md", heading="bereavement"))
    assert not matches_gold(ctx, GoldSource("hr-leave-policy.md", heading="Parental"))
    pdf = C(2, "C:\\docs\\manual.pdf", "text", page=3)
    assert matches_gold(pdf, GoldSource("docs/manual.pdf", page=3))
    assert not matches_gold(pdf, GoldSource("manual.pdf", page=4))


# ------------------------------------------------------------------ hit@k and MRR
def _retrieval_sample(k=5, gold=(GoldSource("en/leave.md"),)):
    contexts = (C(1, "docs/en/pay.md", "Pay day is the 25th."), C(2, "docs/en/leave.md", "Five days of leave."),
                C(3, "docs/en/leave.md", "Carry over five days."))
    return EvalSample("How many days of leave?", None, contexts, gold_sources=gold, k=k)


def test_hit_at_k_and_mrr_by_hand():
    got = compute_metrics(_retrieval_sample(), names=["hit@k", "mrr"])
    assert got["hit@k"].value == 1.0 and got["mrr"].value == 0.5  # first gold context at rank 2
    assert got["mrr"].judged_by == "judge-free" and got["mrr"].detail["rank"] == 2
    top1 = compute_metrics(_retrieval_sample(k=1), names=["hit@k", "mrr"])
    assert top1["hit@k"].value == 0.0 and top1["mrr"].value == 0.0
    none = compute_metrics(_retrieval_sample(gold=()), names=["hit@k", "mrr"])
    assert none["hit@k"].value is None and "gold" in none["hit@k"].detail["reason"]


# ------------------------------------------------------------------ registry
def test_registry_lists_summary_keys_first_and_refuses_overwrite():
    names = available_metrics()
    assert tuple(names[: len(SUMMARY_KEYS)]) == SUMMARY_KEYS
    assert {"citation_validity", "token_f1", "rouge_l", "semantic_similarity", "refusal"} <= set(names)
    with pytest.raises(MetricError, match="registered already"):
        register_metric(Metric("mrr", lambda s, t: None))
    with pytest.raises(MetricError, match="hit@k"):
        compute_metrics(_retrieval_sample(), names=["hit@10"])
