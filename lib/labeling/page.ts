/**
 * The labelling page: a request and K answers; the person orders the answers
 * best → worst (drag a card, or use its ↑ ↓ buttons), may mark a card as tied
 * with the one above it (=), or mark them all bad (all tied), and saves. Skip, back,
 * undo, progress and the number of saved rank lists are on the page; an item
 * ranked before shows the earlier order, and saving it replaces that ranking
 * (the rules are in session.ts). No framework, no network beyond this server.
 */
export const LABEL_PAGE_HTML = `<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<title>RLHF 人类反馈标注 · rank the answers</title>
<style>
  body { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; max-width: 760px; margin: 2em auto; padding: 0 1em; color: #222; }
  h1 { font-size: 1.3em; } .hint { color: #666; font-size: 0.9em; }
  #prompt { background: #f3f6fb; border-left: 4px solid #4a7bd0; padding: 0.6em 1em; margin: 1em 0; white-space: pre-wrap; }
  ol { padding-left: 0; list-style: none; } li.card { border: 1px solid #ccc; border-radius: 6px; margin: 0.5em 0; padding: 0.5em 0.7em; background: #fff; cursor: grab; display: flex; gap: 0.6em; align-items: flex-start; }
  li.card pre { margin: 0; flex: 1; white-space: pre-wrap; font-family: inherit; }
  li.card.dragging { opacity: 0.5; } button { font-size: 1em; padding: 0.3em 0.8em; }
  li.card.tied { border-top: 3px double #4a7bd0; } button.tie[aria-pressed="true"] { background: #4a7bd0; color: #fff; }
  .bar { display: flex; gap: 0.6em; align-items: center; margin-top: 1em; } #status { margin-left: auto; color: #444; }
  #message { color: #b00020; min-height: 1.2em; margin-top: 0.6em; } #done { display: none; font-size: 1.1em; color: #2a7a2a; }
</style>
</head>
<body>
<h1>哪个回答更好？Rank the answers, best first</h1>
<p class="hint">拖动卡片或用 ↑ ↓ 调整顺序（最好的放最上面），然后保存。Drag the cards or use ↑ ↓, best at the top, then save.<br>
下次启动会从你还没排过的第一条继续。“上一条”回到前一条：已排过的显示你原来的顺序，再保存会替换原来的排序。“撤销”收回本次的上一步。<br>
A restart goes on at the first item you have not ranked. Back shows the previous item: one you ranked shows your order, and saving it
again replaces your earlier ranking. Undo takes back your last step.<br>
“=”把这条标为与上一条并列（一样好）；“全都不好”把整组标为并列。奖励模型只从一条排在另一条之上的回答对里学习：并列的两条不构成训练对，整组并列的这一条不进训练（但会保存，下次不再出现）。<br>
“=” marks an answer as tied with the one above (equally good); All bad ties the whole list. The reward model learns only from pairs
where one answer is ranked above the other: a tied pair trains nothing, and an all-tied list is left out of training (it is still saved,
so it is not shown again).</p>
<div id="prompt"></div>
<div id="earlier" class="hint"></div>
<ol id="answers"></ol>
<div class="bar">
  <button id="save">保存排序 Save ranking</button>
  <button id="allbad">全都不好 All bad</button>
  <button id="skip">跳过 Skip</button>
  <button id="back">上一条 Back</button>
  <button id="undo">撤销 Undo</button>
  <span id="status"></span>
</div>
<div id="message" role="alert"></div>
<div id="done">全部完成，谢谢！All items done — thank you.</div>
<script>
let order = [];
let tiedAbove = new Set(); // response indices marked as tied with the card above them
let item = null;
const $ = (id) => document.getElementById(id);

function render(state) {
  $("status").textContent = "第 " + Math.min(state.index + 1, state.total) + " / " + state.total + " 条 · 已保存 " + state.labelled +
    " 条排序 (labelled) · 你已排 " + state.done + " 条 (yours)";
  $("undo").disabled = !state.canUndo;
  $("back").disabled = !state.canGoBack;
  item = state.item || null;
  shownIndex = state.index;
  $("done").style.display = item ? "none" : "block";
  for (const id of ["save", "skip", "allbad"]) $(id).disabled = !item;
  $("prompt").textContent = item ? item.prompt.map((m) => m.content).join("\\n") : "";
  // An item ranked before starts in the earlier order; saving replaces that ranking.
  order = item ? (state.ranked ? [...state.ranked] : item.responses.map((_, i) => i)) : [];
  const earlier = state.rankedTies;
  tiedAbove = new Set(earlier ? order.filter((_, p) => p > 0 && earlier[p] === earlier[p - 1]) : []);
  $("earlier").textContent = state.ranked ? "你排过这一条，下面是你原来的顺序；再保存会替换它。You ranked this before (your order below); saving replaces it." : "";
  drawAnswers();
}

/** The rank of each answer in the shown order (1 = best); a card tied with the one above shares its rank. */
function ranks() {
  const out = [];
  order.forEach((responseIndex, p) => out.push(p === 0 ? 1 : tiedAbove.has(responseIndex) ? out[p - 1] : out[p - 1] + 1));
  return out;
}

function drawAnswers() {
  const list = $("answers");
  list.innerHTML = "";
  const rankOf = ranks();
  order.forEach((responseIndex, position) => {
    const li = document.createElement("li");
    li.className = "card";
    li.draggable = true;
    li.dataset.position = String(position);
    li.dataset.response = String(responseIndex);
    const text = document.createElement("pre");
    text.textContent = item.responses[responseIndex] || "（空回答 empty answer）";
    const up = document.createElement("button");
    up.textContent = "↑"; up.title = "move up"; up.className = "up";
    up.onclick = () => move(position, position - 1);
    const down = document.createElement("button");
    down.textContent = "↓"; down.title = "move down"; down.className = "down";
    down.onclick = () => move(position, position + 1);
    const tie = document.createElement("button");
    tie.textContent = "="; tie.title = "与上一条并列 tie with the one above"; tie.className = "tie";
    tie.disabled = position === 0;
    const tied = position > 0 && tiedAbove.has(responseIndex);
    tie.setAttribute("aria-pressed", String(tied));
    if (tied) li.classList.add("tied");
    tie.onclick = () => { tiedAbove.has(responseIndex) ? tiedAbove.delete(responseIndex) : tiedAbove.add(responseIndex); drawAnswers(); };
    const rank = document.createElement("b");
    rank.textContent = rankOf[position] + ".";
    li.append(rank, text, up, down, tie);
    li.addEventListener("dragstart", (e) => { li.classList.add("dragging"); e.dataTransfer.setData("text/plain", String(position)); });
    li.addEventListener("dragend", () => li.classList.remove("dragging"));
    li.addEventListener("dragover", (e) => e.preventDefault());
    li.addEventListener("drop", (e) => { e.preventDefault(); move(Number(e.dataTransfer.getData("text/plain")), position); });
    list.append(li);
  });
}

function move(from, to) {
  if (to < 0 || to >= order.length || from === to) return;
  const [moved] = order.splice(from, 1);
  order.splice(to, 0, moved);
  drawAnswers();
}

const LABEL_TOKEN = "__LABEL_TOKEN__"; // the server's secret of this start: only this page can write
let shownIndex = 0;
async function call(path, body) {
  $("message").textContent = "";
  const write = { method: "POST", headers: { "content-type": "application/json", "x-label-token": LABEL_TOKEN }, body: JSON.stringify(body ?? {}) };
  const res = await fetch(path, path === "/api/state" ? { method: "GET", headers: { "x-label-token": LABEL_TOKEN } } : write);
  const data = await res.json();
  if (!res.ok) { $("message").textContent = data.error || ("error " + res.status); return; }
  render(data);
}

$("save").onclick = () => call("/api/rank", { order, index: shownIndex, ranks: ranks() });
$("allbad").onclick = () => call("/api/rank", { order, index: shownIndex, ranks: order.map(() => 1) });
$("skip").onclick = () => call("/api/skip");
$("back").onclick = () => call("/api/back");
$("undo").onclick = () => call("/api/undo");
call("/api/state");
</script>
</body>
</html>
`;
