"""Hybrid retrieval over the shipped knowledge base: fields, filters, scripts, and measured quality."""

from __future__ import annotations

import pytest

from copilot.retrieval import LexiconError, QueryError, SearchFilters
from copilot.retrieval.expansion import load_lexicon
from copilot.retrieval.lexical import tokenize
from copilot.retrieval.quality import evaluate, load_queries
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT
from tests.conftest import SEEDS

EVALS = PROJECT_ROOT / "evals" / "retrieval"


def test_bigrams_after_traditional_to_simplified():
    assert tokenize("服務態度") == tokenize("服务态度") == ["服务", "务态", "态度"]
    assert tokenize("The couriers delayed it") == ["courier", "delayed"]


def test_results_carry_document_title_text_and_score(kb_copilot):
    hits = kb_copilot.search_knowledge("客戶情緒激動一直罵人，要先讓他發洩嗎？", k=5)
    assert len(hits) == 5
    top = hits[0]
    assert top.doc_id and top.title and top.text and top.score > 0
    assert top.article == "letting-customers-vent"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.doc_id for h in hits}) == len(hits), "one passage per document by default"


def test_simplified_query_finds_traditional_article(kb_copilot):
    hits = kb_copilot.search_knowledge("刺猬型客户总是反击，怎么应对", k=3, filters=SearchFilters(language=["zh-Hant"]))
    assert "hedgehog-snake-fox" in [h.article for h in hits]
    assert all(h.language == "zh-Hant" for h in hits)


def test_english_question_reaches_the_chinese_article(kb_copilot):
    hits = kb_copilot.search_knowledge(
        "how do I tell a customer we cannot give what they ask without quoting rules",
        k=3,
        filters=SearchFilters(language=["zh-Hant"]),
    )
    assert hits and all(h.language == "zh-Hant" for h in hits)
    assert "lowering-expectations" in [h.article for h in hits]


@pytest.mark.parametrize(
    ("filters", "field", "allowed"),
    [
        (SearchFilters(kind=["policy"]), "kind", {"policy"}),
        (SearchFilters(domain=["travel"]), "domain", {"travel"}),
        (SearchFilters(language=["en"]), "language", {"en"}),
        (SearchFilters(kind=["guidance"], language=["zh-Hant"]), "kind", {"guidance"}),
    ],
)
def test_metadata_filters_are_honoured(kb_copilot, filters, field, allowed):
    hits = kb_copilot.search_knowledge("航班取消了要退款和補償", k=5, filters=filters)
    assert hits
    assert {getattr(h, field) for h in hits} <= allowed


def test_policy_search_finds_the_right_domain(kb_copilot):
    hits = kb_copilot.search_knowledge("寬頻斷線好幾天了，可以補償多少", k=3, filters=SearchFilters(kind=["policy"]))
    assert hits[0].article == "policy-telecom"


def test_phrasebook_is_searched_only_when_asked_for(kb_copilot):
    default = kb_copilot.search_knowledge("apologise sincerely for the delay", k=10)
    assert all(h.kind != "phrase" for h in default)
    phrases = kb_copilot.search_knowledge("apologise sincerely for the delay", k=3, filters=SearchFilters(kind=["phrase"]))
    assert phrases and phrases[0].kind == "phrase"


def test_bad_queries_get_clear_errors(kb_copilot):
    with pytest.raises(QueryError, match="empty"):
        kb_copilot.search_knowledge("  \n ")
    with pytest.raises(QueryError, match="limit is 2,000"):
        kb_copilot.search_knowledge("投訴" * 500_000)
    for only_marks in ("？？！！...", "——～～", "?!", "🙂🙂"):
        with pytest.raises(QueryError, match="no words"):
            kb_copilot.search_knowledge(only_marks)


@pytest.mark.parametrize("name", ["dev", "heldout"])
def test_retrieval_quality_on_labelled_queries(kb_copilot, name):
    """hit@3 >= 0.9 and MRR >= 0.8. `heldout` was written after `dev` and never used for tuning."""
    queries = load_queries(EVALS / f"{name}.jsonl")
    assert len(queries) >= (60 if name == "dev" else 30)
    assert {q.lang for q in queries} == {"zh-Hant", "zh-Hans", "en"}
    report = evaluate(kb_copilot.search_knowledge, queries, k=10)
    misses = [(o.id, o.rank, o.top[:3]) for o in report.outcomes if not o.rank or o.rank > 3]
    assert report.hit_at_3 >= 0.9, misses
    assert report.mrr >= 0.8, misses


# Two test sets, each written by an independent annotator who never saw the code, the lexicon or the development
# sets; test_fresh2 was sealed until the code was final and measured once. The floors sit a little under what
# they measured (shipped MRR/hit@3 0.807/0.886 and 0.762/0.814; seeds 0.581/0.614 and 0.595/0.629) and well
# under the targets.
FRESH_FLOORS = {
    ("test_fresh", "shipped"): {"mrr": 0.78, "hit@3": 0.85},
    ("test_fresh", "seeds"): {"mrr": 0.55, "hit@3": 0.58},
    ("test_fresh2", "shipped"): {"mrr": 0.73, "hit@3": 0.78},
    ("test_fresh2", "seeds"): {"mrr": 0.56, "hit@3": 0.60},
}


@pytest.fixture(scope="module")
def seeds_copilot(kb_settings, tmp_path_factory):
    """The five raw seed articles indexed as a new user would index their own documents."""
    if not SEEDS.exists():
        pytest.skip(f"{SEEDS} is absent: the seed articles ship in ../shared/seeds")
    service = Copilot(kb_settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("seeds-index")}))
    service.index_knowledge([SEEDS])
    return service


@pytest.mark.parametrize(("name", "corpus"), list(FRESH_FLOORS))
def test_retrieval_quality_on_the_fresh_test_sets(request, name, corpus):
    """Shipped knowledge: the first passage of a relevant article. Seed articles: the first passage holding the
    answer snippet (passage level, with only five documents)."""
    # first the index: without ../shared/seeds the seeds fixture skips before the set is read
    service = request.getfixturevalue("kb_copilot" if corpus == "shipped" else "seeds_copilot")
    sources = SEEDS if corpus == "seeds" else None  # the seed questions' answers are places in those files
    queries = [q for q in load_queries(EVALS / f"{name}.jsonl", sources) if q.corpus == corpus]
    assert len(queries) >= 70
    report = evaluate(service.search_knowledge, queries, k=10)
    assert report.mrr >= FRESH_FLOORS[name, corpus]["mrr"]
    assert report.hit_at_3 >= FRESH_FLOORS[name, corpus]["hit@3"]


@pytest.mark.parametrize(
    ("question", "formal"),
    [
        ("客人一直飆罵 我到底要回什麼", "发泄"),  # Taiwan colloquial -> the articles' word for venting
        ("顾客说要投诉到12315咋整", "监管"),  # mainland: the consumer hotline is a regulator threat
        ("老細話要賠錢 我可以俾幾多", "补偿"),  # Cantonese: the boss says pay up
        ("cust wants money back asap", "退款"),  # English shorthand -> the Chinese formal term
        ("customer is furious and yelling", "愤怒"),
    ],
)
def test_the_lexicon_adds_the_words_the_articles_use(question, formal):
    expander = load_lexicon(PROJECT_ROOT / "knowledge" / "retrieval" / "lexicon.yaml")
    assert formal in expander.expand(question).terms


def test_an_unreadable_lexicon_is_named(tmp_path):
    bad = tmp_path / "lexicon.yaml"
    bad.write_text("groups:\n  - concept: x\n    formal: [not, a, mapping]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lexicon\.yaml: not a valid lexicon"):
        load_lexicon(bad)


def test_explain_says_which_channel_found_each_passage(kb_copilot):
    answer = kb_copilot.explain_search("客人一直飆罵 我到底要回什麼", k=3)
    assert answer.passages and "发泄" in answer.expanded_with
    assert all(p.channels and set(p.channels) <= {"dense", "lexical", "expansion", "bridge", "sentences"} for p in answer.passages)
    assert answer.passages[0].article == "letting-customers-vent"
    assert not answer.notices


def test_a_question_in_another_language_gets_a_notice_not_a_crash(kb_copilot, api):
    import httpx

    answer = kb_copilot.explain_search("환불은 언제 되나요? 너무 화가 나요", k=3)
    assert answer.notices and "not in Chinese or English" in answer.notices[0]
    r = httpx.get(f"{api}/v1/kb/search", params={"q": "환불은 언제 되나요? 너무 화가 나요", "k": 2})
    assert r.status_code == 200 and isinstance(r.json(), list)
    assert "not in Chinese or English" in r.headers["x-copilot-notice"]
    explained = httpx.get(f"{api}/v1/kb/explain", params={"q": "cust wants money back asap", "k": 2}).json()
    assert "退款" in explained["expanded_with"] and explained["passages"][0]["channels"]


class _RecordingEmbedder:
    """Stands in for the embedder: records what it is asked to embed, and can fail part way (an interrupt)."""

    model_name = "recording"

    def __init__(self, fail_after: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_after = fail_after

    def get_text_embedding_batch(self, texts: list[str]) -> list[list[float]]:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise KeyboardInterrupt
        self.batches.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]


def test_indexing_embeds_like_lengths_together_and_resumes_after_an_interrupt(tmp_path):
    from copilot.knowledge.loader import load_folder
    from copilot.retrieval.index import KnowledgeIndex
    from copilot.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(90):  # more passages than one batch
        body = f"第{n}號：" + "退款流程說明。" * (1 + n % 7) if n % 2 else f"Case {n}: " + "How refunds work. " * (1 + n % 5)
        (docs / f"note-{n:03d}.txt").write_text(f"Note {n}\n\n{body}", encoding="utf-8")
    documents = load_folder(docs, source="notes").documents
    settings = Settings(data_dir=tmp_path / "var")
    # one embedding call per batch of passages (their headings, questions and sentences): stop after the first
    interrupted = _RecordingEmbedder(fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        KnowledgeIndex(settings, create=True, embedder=interrupted).update(documents, ["notes"])
    first = interrupted.batches[0]
    assert first and [len(t) for t in first] == sorted(len(t) for t in first)
    resumed = _RecordingEmbedder()
    report = KnowledgeIndex(settings, create=True, embedder=resumed).update(documents, ["notes"])
    assert report.unchanged == 64 and report.embedded == report.chunks - 64 > 0  # the first batch was kept
    again = KnowledgeIndex(settings, create=True, embedder=_RecordingEmbedder()).update(documents, ["notes"])
    assert again.embedded == 0 and again.unchanged == report.chunks


def test_a_filter_that_removes_the_nearest_passages_still_finds_the_best_kept_ones(kb_settings):
    """English asked of Chinese passages: the filtered search over the vectors in memory returns what the
    store's own search among the kept ids returns."""
    from copilot.retrieval.index import KnowledgeIndex
    from copilot.retrieval.lexical import normalise

    filters = SearchFilters(kind=["guidance"], language=["zh-Hant"])
    question = normalise("the customer keeps shouting and wants a supervisor")
    index = KnowledgeIndex(kb_settings)
    index._ensure_lexical()
    assert index._vectors is not None and len(index._vectors) == index.count()
    in_store = index._nearest(index.embedder.get_query_embedding(question), 10, among=index._allowed_ids(filters))
    assert index._dense_search(question, 10, filters) == in_store


def test_passages_read_from_memory_are_the_stored_ones(kb_settings, tmp_path):
    """Search results are built from the copy held with the lexical index: the same text, metadata and
    document as the store gives back, also for a record written without llama-index's serialised node."""
    import shutil

    from copilot.retrieval.index import KnowledgeIndex

    settings = kb_settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(kb_settings.data_dir, settings.data_dir)
    index = KnowledgeIndex(settings)
    some = index.collection.get(limit=5, include=["embeddings", "metadatas"])
    meta = {k: v for k, v in some["metadatas"][0].items() if k != "_node_content"} | {"document_id": "raw"}
    index.collection.add(ids=["raw-1"], documents=["退款逾期，客人要求主管回覆。"], metadatas=[meta],
                         embeddings=[some["embeddings"][0]])
    index._ensure_lexical()
    ids = [*some["ids"], "raw-1"]
    from_memory = index._nodes(ids)
    from_store = {n.node_id: n for n in index.vector_store.get_nodes(node_ids=ids)}
    assert set(from_memory) == set(from_store) == set(ids)
    for cid in ids:
        assert from_memory[cid].get_content() == from_store[cid].get_content()
        assert from_memory[cid].metadata == from_store[cid].metadata
        assert from_memory[cid].ref_doc_id == from_store[cid].ref_doc_id


def test_a_set_pointing_into_source_files_needs_them(kb_copilot, tmp_path):
    queries = load_queries(EVALS / "seeds_dev.jsonl")[:2]
    with pytest.raises(ValueError, match=r"points into .*load the set with the folder of its source files"):
        evaluate(kb_copilot.search_knowledge, queries)
    with pytest.raises(FileNotFoundError, match=r"which does not exist"):
        load_queries(EVALS / "seeds_dev.jsonl", sources=tmp_path)
