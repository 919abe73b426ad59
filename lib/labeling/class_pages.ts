/**
 * The pages of a class session (class_server.ts): the join page a student
 * opens first (join code and name → a token kept in the browser's
 * localStorage), the labelling page for that token, and the teacher's view
 * (who joined, progress per student, agreement; refreshed every 3 s). No
 * framework, no network beyond the session's server.
 */
import { LABEL_PAGE_HTML } from "./page.ts";

/** localStorage key of a student's token. */
const TOKEN_KEY = "rlhf-class-token";

/** The labelling page, its token read from this browser's storage (no token: back to the join page). */
export const CLASS_LABEL_PAGE_HTML = LABEL_PAGE_HTML.replace(
  '"__LABEL_TOKEN__"',
  `(localStorage.getItem("${TOKEN_KEY}") || (location.href = "/", ""))`,
);

export const CLASS_JOIN_PAGE_HTML = `<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RLHF 课堂标注 · join the class</title>
<style>
  body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; max-width: 420px; margin: 3em auto; padding: 0 1em; color: #222; }
  label { display: block; margin: 1em 0 0.3em; } input { font-size: 1.2em; width: 100%; box-sizing: border-box; padding: 0.3em; }
  button { font-size: 1.1em; margin-top: 1em; padding: 0.4em 1em; } #message { color: #b00020; min-height: 1.2em; margin-top: 0.8em; }
</style>
</head>
<body>
<h1>加入课堂 Join the class</h1>
<form id="join">
  <label for="code">课堂码 Join code</label><input id="code" autocomplete="off" autocapitalize="characters" required>
  <label for="name">你的名字 Your name</label><input id="name" maxlength="40" required>
  <button type="submit">加入 Join</button>
</form>
<div id="message" role="alert"></div>
<script>
document.getElementById("join").onsubmit = async (e) => {
  e.preventDefault();
  const body = JSON.stringify({ code: document.getElementById("code").value, name: document.getElementById("name").value });
  const res = await fetch("/api/join", { method: "POST", headers: { "content-type": "application/json" }, body });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { document.getElementById("message").textContent = data.error || ("error " + res.status); return; }
  localStorage.setItem("${TOKEN_KEY}", data.token);
  location.href = "/label";
};
</script>
</body>
</html>
`;

export const CLASS_TEACHER_PAGE_HTML = `<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<title>RLHF 课堂 · teacher's view</title>
<style>
  body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; max-width: 900px; margin: 2em auto; padding: 0 1em; color: #222; }
  table { border-collapse: collapse; margin: 0.6em 0; } td, th { border-bottom: 1px solid #ddd; padding: 0.2em 0.7em; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; } pre { background: #f3f6fb; padding: 0.6em 1em; white-space: pre-wrap; }
  #message { color: #b00020; }
</style>
</head>
<body>
<h1>课堂标注 · the class ranks</h1>
<p id="summary"></p>
<h2>学生 Students</h2>
<table><thead><tr><th>name</th><th>done</th><th>vs the others' majority</th><th>vs the simulated labeler</th></tr></thead><tbody id="students"></tbody></table>
<h2>一致性 Agreement</h2>
<pre id="agreement"></pre>
<p>奖励模型在留出标注者上的准确率不会超过标注者之间的一致率。InstructGPT: labeler–labeler 72.6 ± 1.5 %, reward model 72.4 ± 0.4 % on held-out labelers.</p>
<div id="message" role="alert"></div>
<script>
const TOKEN = location.hash.slice(1);
const pct = (x) => (x === null || x === undefined || !isFinite(x)) ? "–" : (100 * x).toFixed(1) + " %";
async function refresh() {
  const res = await fetch("/api/class", { headers: { "x-label-token": TOKEN } });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { document.getElementById("message").textContent = data.error || ("error " + res.status); return; }
  document.getElementById("message").textContent = "";
  document.getElementById("summary").textContent = "session " + data.session + " · " + data.students.length + " joined · " +
    data.items + " lists, " + data.overlap + " shared by everyone · " + data.shortOfRankers + " others not yet ranked by enough students";
  const majority = Object.fromEntries(data.agreement.majority.map((m) => [m.labeler, m]));
  const reference = Object.fromEntries((data.reference?.students ?? []).map((m) => [m.labeler, m]));
  const rows = data.students.map((s) => {
    const tr = document.createElement("tr");
    const cells = [s.name, s.done + " / " + s.total, pct(majority[s.name]?.agreement), pct(reference[s.name]?.agreement)];
    cells.forEach((c, i) => { const td = document.createElement("td"); td.textContent = c; if (i) td.className = "n"; tr.append(td); });
    return tr;
  });
  document.getElementById("students").replaceChildren(...rows);
  document.getElementById("agreement").textContent = data.lines.join("\\n");
}
refresh();
setInterval(refresh, 3000);
</script>
</body>
</html>
`;
