#!/usr/bin/env python3
"""delay_proxy.py LISTEN_PORT TARGET_PORT [MIN_MS MAX_MS]: a TCP proxy on 127.0.0.1 that adds
a random delay (default 20-50 ms) to every request of every connection: the first bytes a
client sends after the server last answered (an HTTP request on a keep-alive connection) are
held back that long, then the rest streams through untouched. It stands in for a distant
object store in front of a local s3rver (bench/writeback_bench.sh). Prints READY when
listening; stops on SIGTERM."""
import asyncio
import random
import sys


async def pipe(reader, writer, state, delay):
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            if delay is not None:
                if state["turn"] != "client":  # a new request starts
                    state["turn"] = "client"
                    await asyncio.sleep(random.uniform(*delay))
            else:
                state["turn"] = "server"
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(creader, cwriter, target, delay):
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cwriter.close()
        return
    state = {"turn": "server"}
    await asyncio.gather(pipe(creader, swriter, state, delay), pipe(sreader, cwriter, state, None))


async def main():
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    lo = float(sys.argv[3]) if len(sys.argv) > 3 else 20
    hi = float(sys.argv[4]) if len(sys.argv) > 4 else 50
    delay = (lo / 1000, hi / 1000)
    server = await asyncio.start_server(lambda r, w: handle(r, w, target, delay), "127.0.0.1",
                                        listen)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
