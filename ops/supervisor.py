"""Start the whole assistant on loopback: the action server, the Rasa servers and the bot.

    python -m ops.supervisor        (what `make run` runs after set-up)

With TELEGRAM_BOT_TOKEN set the bot serves Telegram; without it you chat in this terminal.
A server that exits is started again with a growing wait and a clear line here (ops/restarts.py);
the bot stays up meanwhile and keeps the messages it cannot answer yet.
Ctrl-C (or SIGTERM) stops every process this started; if this process dies, the kernel stops
the servers too (see ops/stack.py), so nothing is left running. Server logs go to var/log/.

The three start at once (the bot waits for Rasa to answer before it takes messages), so the
bot's start-up hides under Rasa's model loading. The Rasa servers (RASA_SERVERS of them, one
core each) listen on free internal ports; RASA_PORT is an ops.rasa_front.RasaFront in front of
them, which keeps each conversation on one server at a time, queues turns rather than overload a
server, and starts a model staff promote (/retrain, /rollback, make retrain) beside the set in
service, switching when it is ready: the assistant never pauses to load a model. The first
server loads alone; the others start once it answers and join the set as they become ready.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future

from npq.settings import Settings
from ops import logs
from ops.model import model_path
from ops.paths import APP_PYTHON, ROOT
from ops.ports import HOST, free_port
from ops.rasa_front import Launcher, RasaFront, RasaProcess
from ops.restarts import Restarter
from ops.stack import READY_TIMEOUT, Stack, StackError, check_port_free, die_with_parent

BOT_GRACE = 30.0  # seconds the bot has to stop on SIGTERM before it is killed


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    env = dict(os.environ)
    rasa_port = int(env.get("RASA_PORT") or 5005)
    settings = Settings.from_env(env)
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
        logs.keep_tidy(stack.log_dir, settings.log_retention_days)
        try:
            stack.start()  # both servers at once; the bot starts while Rasa loads, waiting for it
            front = RasaFront(port=rasa_port, servers=[RasaProcess(stack)],
                              launch=Launcher(action_port=stack.action_port, env=stack.env,
                                              log_dir=stack.log_dir, free_port=free_port),
                              model=stack.model or model_path(),
                              affinity=not settings.redis_url,
                              concurrency=settings.rasa_concurrency, token=stack.rasa_token)
            front.start()
            try:
                bot = subprocess.Popen(bot_command, cwd=ROOT, env=env, preexec_fn=die_with_parent)
                restarter = Restarter()
                growing: Future[None] | None = None
                try:
                    stack.wait_ready()
                    growing = front.grow(settings.rasa_servers)  # the others, once it answers
                    print(f"==> Rasa {front.url} ready after {time.monotonic() - started:.0f} s "
                          f"(1 of {settings.rasa_servers} servers; new models load beside those "
                          f"in service), actions {stack.action_url}; Ctrl-C stops everything")
                    while bot.poll() is None:
                        restarter.check(stack)  # the action server (and the first Rasa)
                        for serving in front.servers:  # the Rasa servers, after any swap
                            if isinstance(serving, RasaProcess) and serving.stack is not stack:
                                restarter.check(serving.stack)
                        if growing is not None and growing.done():
                            if growing.exception() is not None:  # serve with those that did
                                print(f"warning: {len(front.servers)} of "
                                      f"{settings.rasa_servers} Rasa servers started: "
                                      f"{growing.exception()}", file=sys.stderr)
                            growing = None
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            bot.wait(timeout=1.0)
                finally:
                    if bot.poll() is None:
                        bot.terminate()
                        try:
                            bot.wait(timeout=BOT_GRACE)
                        except subprocess.TimeoutExpired:  # a backlog Telegram no longer takes
                            bot.kill()
                            bot.wait()
            finally:
                front.stop()  # and the Rasa servers
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
