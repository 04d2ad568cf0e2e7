"""Start the whole assistant on loopback: the action server, the Rasa server and the bot.

    python -m ops.supervisor        (what `make run` runs after set-up)

With TELEGRAM_BOT_TOKEN set the bot serves Telegram; without it you chat in this terminal.
A server that exits is started again with a growing wait and a clear line here (ops/restarts.py);
the bot stays up meanwhile and keeps the messages it cannot answer yet.
Ctrl-C (or SIGTERM) stops every process this started; if this process dies, the kernel stops
the servers too (see ops/stack.py), so nothing is left running. Server logs go to var/log/.

The three start at once (the bot waits for Rasa to answer before it takes messages), so the
bot's start-up hides under Rasa's model loading. The Rasa server listens on a free internal
port; RASA_PORT is an ops.rasa_front.RasaFront in front of it, so a model staff promote
(/retrain, /rollback, make retrain) is started beside the one in service and switched to when
ready: the assistant never pauses to load a model.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from npq.settings import Settings
from ops import logs
from ops.paths import APP_PYTHON, ROOT
from ops.ports import HOST, free_port
from ops.rasa_front import RasaFront, RasaProcess, launcher
from ops.restarts import Restarter
from ops.stack import READY_TIMEOUT, Stack, StackError, check_port_free, die_with_parent


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    env = dict(os.environ)
    rasa_port = int(env.get("RASA_PORT") or 5005)
    stack = Stack(rasa_port=free_port(), action_port=int(env.get("ACTION_SERVER_PORT") or 5055),
                  endpoints_file=ROOT / "var" / "endpoints.yml")
    env["RASA_URL"] = f"http://{HOST}:{rasa_port}"  # the front
    env["ACTION_SERVER_URL"] = stack.action_url  # the bot checks its health before retrying
    bot_command = [str(APP_PYTHON), "-m", "bot", "--wait-for-rasa", str(READY_TIMEOUT)]
    if not env.get("TELEGRAM_BOT_TOKEN"):
        bot_command.append("--terminal")
    print(f"==> starting the action server, the Rasa server and the bot on {HOST} "
          f"(logs in {stack.log_dir.relative_to(ROOT)}/)")
    started = time.monotonic()
    try:
        check_port_free(rasa_port, "Rasa server")
        # the logs may hold what people wrote: rotated daily, gone after LOG_RETENTION_DAYS
        logs.keep_tidy(stack.log_dir, Settings.from_env(env).log_retention_days)
        try:
            stack.start()  # both servers at once; the bot starts while Rasa loads, waiting for it
            front = RasaFront(port=rasa_port, current=RasaProcess(stack),
                              launch=launcher(action_port=stack.action_port, env=stack.env,
                                              log_dir=stack.log_dir, free_port=free_port),
                              token=stack.rasa_token)
            front.start()
            try:
                bot = subprocess.Popen(bot_command, cwd=ROOT, env=env, preexec_fn=die_with_parent)
                restarter = Restarter()
                try:
                    stack.wait_ready()
                    print(f"==> Rasa {front.url} ready after {time.monotonic() - started:.0f} s "
                          f"(new models load beside the one in service), actions "
                          f"{stack.action_url}; Ctrl-C stops everything")
                    while bot.poll() is None:
                        restarter.check(stack)  # the action server (and the first Rasa)
                        serving = front.current  # the Rasa server in service, after any swap
                        if isinstance(serving, RasaProcess) and serving.stack is not stack:
                            restarter.check(serving.stack)
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            bot.wait(timeout=1.0)
                finally:
                    if bot.poll() is None:
                        bot.terminate()
                        bot.wait()
            finally:
                front.stop()  # and the Rasa server in service
        finally:
            stack.stop()  # the action server (and Rasa, if the front never took it)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n==> stopped")
        return 130
    return bot.returncode


if __name__ == "__main__":
    sys.exit(main())
