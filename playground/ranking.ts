/// <reference lib="dom" />
/**
 * The person's ranking, with the labelling page's interactions (lib/labeling/page.ts): drag a card or use
 * its ↑ ↓, best at the top; "=" ties a card with the one above, "All bad" ties them all; save, skip, back, undo. The rules are LabelSession's (lib/labeling/session.ts),
 * run in the page on the memory platform, so the saved file is the same JSONL as `deno task label` writes.
 */
import type { LabelSession, SessionState } from "../lib/browser.ts";

const $ = (id: string) => document.getElementById(id)!;

/** Wires the ranking section (#rank-*) to `session`; `onChange` hears every new state. */
export function mountRanking(session: LabelSession, onChange: (state: SessionState) => void): Promise<void> {
  let order: number[] = [];
  let tiedAbove = new Set<number>(); // response indices marked as tied with the card above them
  let shown = 0;
  let item: SessionState["item"];

  /** The rank of each answer in the shown order (1 = best); a card tied with the one above shares its rank. */
  const ranks = () => {
    const out: number[] = [];
    order.forEach((r, p) => out.push(p === 0 ? 1 : tiedAbove.has(r) ? out[p - 1] : out[p - 1] + 1));
    return out;
  };
  const draw = () => {
    const list = $("rank-answers");
    list.replaceChildren();
    const rankOf = ranks();
    order.forEach((responseIndex, position) => {
      const li = document.createElement("li");
      li.className = "card";
      li.draggable = true;
      li.dataset.response = String(responseIndex);
      const rank = document.createElement("b");
      rank.textContent = `${rankOf[position]}.`;
      const text = document.createElement("pre");
      text.textContent = item!.responses[responseIndex] || "（空回答 empty answer）";
      const button = (label: string, cls: string, to: number) => {
        const b = document.createElement("button");
        b.textContent = label;
        b.className = cls;
        b.onclick = () => move(position, to);
        return b;
      };
      const tie = document.createElement("button");
      tie.textContent = "=";
      tie.title = "与上一条并列 tie with the one above";
      tie.className = "tie";
      tie.disabled = position === 0;
      tie.setAttribute("aria-pressed", String(position > 0 && tiedAbove.has(responseIndex)));
      tie.onclick = () => {
        if (!tiedAbove.delete(responseIndex)) tiedAbove.add(responseIndex);
        draw();
      };
      li.append(rank, text, button("↑", "up", position - 1), button("↓", "down", position + 1), tie);
      li.addEventListener("dragstart", (e) => e.dataTransfer!.setData("text/plain", String(position)));
      li.addEventListener("dragover", (e) => e.preventDefault());
      li.addEventListener("drop", (e) => {
        e.preventDefault();
        move(Number(e.dataTransfer!.getData("text/plain")), position);
      });
      list.append(li);
    });
  };
  const move = (from: number, to: number) => {
    if (to < 0 || to >= order.length || from === to) return;
    const [moved] = order.splice(from, 1);
    order.splice(to, 0, moved);
    draw();
  };
  const render = (state: SessionState) => {
    item = state.item;
    shown = state.index;
    order = item ? (state.ranked ? [...state.ranked] : item.responses.map((_, i) => i)) : [];
    const earlier = state.rankedTies;
    tiedAbove = new Set(earlier ? order.filter((_, p) => p > 0 && earlier[p] === earlier[p - 1]) : []);
    $("rank-prompt").textContent = item ? item.prompt.map((m) => m.content).join("\n") : "全部排完。All ranked.";
    $("rank-status").textContent = `第 ${Math.min(state.index + 1, state.total)} / ${state.total} 条 · 你已排 ${state.done} 条 (ranked)`;
    for (const id of ["rank-save", "rank-allbad", "rank-skip"]) ($(id) as HTMLButtonElement).disabled = !item;
    ($("rank-undo") as HTMLButtonElement).disabled = !state.canUndo;
    ($("rank-back") as HTMLButtonElement).disabled = !state.canGoBack;
    draw();
    onChange(state);
  };
  const act = async (f: () => Promise<unknown>) => {
    $("rank-message").textContent = "";
    try {
      await f();
    } catch (err) {
      $("rank-message").textContent = err instanceof Error ? err.message : String(err);
    }
    render(await session.state());
  };
  $("rank-save").onclick = () => act(() => session.rank(order, { index: shown, ranks: ranks() }));
  $("rank-allbad").onclick = () => act(() => session.rank(order, { index: shown, ranks: order.map(() => 1) }));
  $("rank-skip").onclick = () => act(() => session.skip());
  $("rank-back").onclick = () => act(() => session.back());
  $("rank-undo").onclick = () => act(() => session.undo());
  return act(() => Promise.resolve());
}
