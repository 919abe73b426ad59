"""Runs a notebook in the real Deno Jupyter kernel, headless, cell by cell.

    /usr/bin/python3 scripts/run_notebook.py notebooks/01_pretrain_sft.ipynb OUT.ipynb

Uses jupyter_client directly (Debian: jupyter-client, python3-ipykernel) with a
kernelspec made here (deno jupyter --kernel). The Deno kernel sometimes sends a
cell's result after it reports idle; nbclient drops such outputs, so this
runner keeps listening for a short grace period after each cell. Exits 1 on
the first cell error, printing it. Writes the executed notebook to OUT.
Prints one JSON line per cell: index, status, seconds, output MIME types; the
executed notebook keeps each cell's seconds in its metadata (execution_seconds).
"""
import json
import os
import queue
import shutil
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

GRACE_S = 1.0
CELL_TIMEOUT_S = 900


def main(src, out):
    nb = json.load(open(src))
    spec_dir = tempfile.mkdtemp()
    os.makedirs(f"{spec_dir}/kernels/deno")
    json.dump({"argv": [shutil.which("deno"), "jupyter", "--kernel", "--conn", "{connection_file}"],
               "display_name": "Deno", "language": "typescript",
               "env": {"NO_COLOR": "1", "RLHF_NOTEBOOK_QUICK": os.environ.get("RLHF_NOTEBOOK_QUICK", "1")}},
              open(f"{spec_dir}/kernels/deno/kernel.json", "w"))
    ksm = KernelSpecManager(kernel_dirs=[f"{spec_dir}/kernels"])
    km = KernelManager(kernel_name="deno", kernel_spec_manager=ksm)
    km.start_kernel(cwd=os.path.dirname(os.path.abspath(src)))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    failed = False
    try:
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            started = time.time()
            msg_id = kc.execute("".join(cell["source"]))
            outputs, status, idle_at = [], None, None
            deadline = time.time() + CELL_TIMEOUT_S
            while time.time() < deadline:
                if idle_at is not None and time.time() - idle_at > GRACE_S and status is not None:
                    break
                try:
                    msg = kc.get_iopub_msg(timeout=0.2)
                except queue.Empty:
                    if status is None:
                        try:
                            reply = kc.get_shell_msg(timeout=0.01)
                            if reply["parent_header"].get("msg_id") == msg_id:
                                status = reply["content"]["status"]
                        except queue.Empty:
                            pass
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content["execution_state"] == "idle":
                    idle_at = time.time()
                elif kind in ("execute_result", "display_data"):
                    outputs.append({"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {}),
                                    **({"execution_count": content.get("execution_count")} if kind == "execute_result" else {})})
                elif kind == "stream":
                    outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
                elif kind == "error":
                    outputs.append({"output_type": "error", "ename": content["ename"], "evalue": content["evalue"], "traceback": content["traceback"]})
                    status = "error"
            else:
                status = "timeout"
            cell["outputs"] = outputs
            seconds = round(time.time() - started, 1)
            cell.setdefault("metadata", {})["execution_seconds"] = seconds
            mimes = sorted({m for o in outputs for m in o.get("data", {})})
            print(json.dumps({"cell": index, "status": status, "seconds": seconds, "mimes": mimes}), flush=True)
            if status != "ok":
                err = [o for o in outputs if o["output_type"] == "error"]
                print(f"cell {index} failed ({status}): " + (f"{err[0]['ename']}: {err[0]['evalue']}" if err else ""), file=sys.stderr)
                failed = True
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(spec_dir, ignore_errors=True)
    json.dump(nb, open(out, "w"), ensure_ascii=False, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
