"""The gold scorer of 诗词助手 (poetry-zh), in Python, for TRL, OpenRLHF and verl.

Written by `deno task export` from lib/export/poetry_zh_gold.py, with the data
the scorer reads (the preference, the chat markers, the valence list, the
themes, the rhyme classes) filled in. It computes what lib/tasks/poetry_zh/scorer.ts
computes, part by part; tests/export_test.ts checks that on 2,000 answers.
Standard library only.

Entry points:
  score(response, constraints)                    -> {"total": float, "parts": {name: float}}
  trl_reward(prompts, completions, constraints)   TRL GRPOTrainer / RLOOTrainer `reward_funcs`
  reward_func(queries, prompts, labels)           OpenRLHF `--reward.remote_url gold_scorer.py`
  compute_score(data_source, solution_str, ground_truth, extra_info)
                                                  verl `custom_reward_function.path=gold_scorer.py`
  python3 gold_scorer.py < answers.jsonl          one {"response", "constraints"} a line in,
                                                  one {"total", "parts"} a line out
`constraints` is the JSON object the bundle's prompt files carry (TRL's `constraints` column,
OpenRLHF's `label`, verl's `reward_model.ground_truth`): chars_per_line, n_lines, and for the
"rules" preference include and theme.
"""
import json
import math
import sys

DATA = json.loads(__DATA__)

PREFERENCE = DATA["preference"]  # "mood" (bright beats sorrowful) or "rules" (follow the instruction)
END_OF_TURN = DATA["end_of_turn"]
CONTENT_PREFIX = DATA["content_prefix"]
BRIGHT = DATA["bright"]
SORROWFUL = DATA["sorrowful"]
THEMES = DATA["themes"]
RHYME = {}
for _classes, _chars in DATA["rhyme"].items():
    for _char in _chars:
        RHYME[_char] = set(_classes.split("|"))

LINE_ENDS = "，。？！；"
EVEN_LINE_ENDS = "。？！"
FORM_PARTS = ("line_count", "chars_per_line", "punctuation", "clean")
# JavaScript's whitespace (String.prototype.trim, and \s in a /u regex), which is not Python's str.isspace.
JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"


def is_cjk(ch):
    """One character of the CJK ranges the TypeScript scorer counts as Chinese."""
    return ch is not None and len(ch) == 1 and ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")


def parse_lines(response):
    """Verse lines split at punctuation: [(body, end mark or "")]; newlines only separate couplets."""
    lines, body = [], ""
    for ch in response.replace("\n", ""):
        if ch in LINE_ENDS:
            lines.append((body, ch))
            body = ""
        else:
            body += ch
    if body.strip(JS_SPACE):
        lines.append((body, ""))
    return lines


def form_parts(response, chars_per_line, n_lines, lines):
    n = n_lines
    parts = {"line_count": max(0.0, 1 - abs(len(lines) - n) / n)}
    counted = max(n, len(lines))
    ok_length = sum(1 for body, _ in lines if len(body) == chars_per_line and all(is_cjk(c) for c in body))
    parts["chars_per_line"] = ok_length / counted
    ok_punct = sum(
        1 for i, (_, end) in enumerate(lines) if (end == "，" if i % 2 == 0 else (end in EVEN_LINE_ENDS and end != ""))
    )
    parts["punctuation"] = ok_punct / counted
    clean = sum(1 for c in response if is_cjk(c) or c in LINE_ENDS or c == "\n")
    parts["clean"] = clean / len(response) if response else 0
    return parts


def variety_score(response):
    chars = [c for c in response if c not in JS_SPACE and c not in "，。？！；、"]
    if not chars:
        return 0
    ratio = len(set(chars)) / len(chars)
    return min(1, max(0, (ratio - 0.4) / 0.4))


def read_mood(response):
    present = set(response)
    net = sum(1 for c in BRIGHT if c in present) - sum(1 for c in SORROWFUL if c in present)
    return 1 / (1 + math.exp(-net))


def rhymes(a, b):
    return bool(RHYME.get(a, set()) & RHYME.get(b, set()))


def rhyme_score(lines, n):
    def last(i):
        return lines[i][0][-1] if i < len(lines) and lines[i][0] else None

    anchor = last(1)
    if not is_cjk(anchor):
        return 0
    pairs = hits = 0
    for i in range(3, n, 2):
        pairs += 1
        ch = last(i)
        if is_cjk(ch) and rhymes(anchor, ch):
            hits += 1
    return hits / pairs if pairs else 0


def score(response, constraints):
    """The gold score of an answer (the assistant's text only) to a request with these constraints."""
    c = json.loads(constraints) if isinstance(constraints, str) else constraints
    cpl, n = int(c["chars_per_line"]), int(c["n_lines"])
    lines = parse_lines(response)
    form = form_parts(response, cpl, n, lines)
    if PREFERENCE == "mood":
        form_mean = (form["line_count"] + form["chars_per_line"] + form["punctuation"] + form["clean"]) / len(FORM_PARTS)
        variety = variety_score(response)
        mood = read_mood(response)
        return {"total": form_mean * variety * mood, "parts": {**form, "variety": variety, "mood": mood}}
    parts = {k: form[k] for k in ("line_count", "chars_per_line", "punctuation")}
    if isinstance(c.get("include"), str) and c["include"]:
        parts["include"] = 1 if c["include"] in response else 0
    if isinstance(c.get("theme"), str) and c["theme"] in THEMES:
        parts["theme"] = 1 if any(m in response for m in THEMES[c["theme"]]) else 0
    parts["rhyme"] = rhyme_score(lines, n)
    parts["clean"] = form["clean"]
    total = 0
    for v in parts.values():
        total += v
    return {"total": total / len(parts), "parts": parts}


def answer_text(text):
    """The assistant's text: up to the end-of-turn marker, without the template's content prefix."""
    end = text.find(END_OF_TURN)
    if end >= 0:
        text = text[:end]
    if CONTENT_PREFIX and text.startswith(CONTENT_PREFIX):
        text = text[len(CONTENT_PREFIX):]
    return text


def trl_reward(prompts=None, completions=None, constraints=None, **kwargs):
    """TRL: one float per completion; `constraints` is the prompt dataset's column of that name."""
    out = []
    for completion, c in zip(completions, constraints):
        text = completion[-1]["content"] if isinstance(completion, list) else completion  # conversational or plain
        out.append(score(answer_text(text), c)["total"])
    return out


def reward_func(queries, prompts, labels, **kwargs):
    """OpenRLHF: `queries` are prompt + answer as decoded text, `labels` the --data.label_key column."""
    import torch  # OpenRLHF's environment has it; the other entry points need only the standard library

    scores = []
    for query, prompt, label in zip(queries, prompts, labels):
        text = query[len(prompt):] if query.startswith(prompt) else query.rsplit(DATA["assistant_marker"], 1)[-1]
        scores.append(score(answer_text(text), label)["total"])
    rewards = torch.tensor(scores, dtype=torch.float32)
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"gold": rewards}}


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """verl: the gold score of one decoded answer; `ground_truth` is reward_model.ground_truth."""
    return score(answer_text(solution_str), ground_truth)["total"]


if __name__ == "__main__":
    for line in sys.stdin:
        if line.strip():
            item = json.loads(line)
            print(json.dumps(score(item["response"], item["constraints"]), ensure_ascii=False))
