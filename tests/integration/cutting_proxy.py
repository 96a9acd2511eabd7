#!/usr/bin/env python3
"""A TCP forwarder that makes a bad rural link: it delays every chunk by
--delay-ms and cuts each connection with a TCP reset after a random number
of forwarded bytes (--cut-min/--cut-max), so connections die mid-batch.
Plain packet loss is left to nftables and bandwidth to tbf; TCP repairs loss
by itself, the resets are what exercise the protocol's resume logic.
Prints counters on SIGTERM."""
import argparse, asyncio, random, signal, socket, struct, sys

stats = {"connections": 0, "cuts": 0, "bytes": 0}

def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:  # SO_LINGER 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.close()

async def pump(reader, writer, budget, delay, state):
    try:
        while True:
            data = await reader.read(16384)
            if not data:
                break
            await asyncio.sleep(delay)
            stats["bytes"] += len(data)
            budget[0] -= len(data)
            if budget[0] <= 0 and not state["cut"]:
                state["cut"] = True
                stats["cuts"] += 1
                raise ConnectionResetError
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass

async def handle(cr, cw, args):
    stats["connections"] += 1
    try:
        ur, uw = await asyncio.open_connection(args.target_host, args.target_port)
    except OSError:
        reset(cw)
        return
    budget = [random.randint(args.cut_min, args.cut_max)]
    state = {"cut": False}
    delay = args.delay_ms / 1000.0
    t1 = asyncio.ensure_future(pump(cr, uw, budget, delay, state))
    t2 = asyncio.ensure_future(pump(ur, cw, budget, delay, state))
    await asyncio.wait([t1, t2], return_when=asyncio.FIRST_COMPLETED)
    for t in (t1, t2):
        t.cancel()
    reset(cw)
    reset(uw)

async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen-port", type=int, required=True)
    p.add_argument("--target-host", required=True)
    p.add_argument("--target-port", type=int, required=True)
    p.add_argument("--delay-ms", type=int, default=200)
    p.add_argument("--cut-min", type=int, default=20000)
    p.add_argument("--cut-max", type=int, default=300000)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    random.seed(args.seed)
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1",
                                        args.listen_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("proxy ready", flush=True)
    await stop.wait()
    server.close()
    print("proxy: connections=%d cuts=%d bytes=%d" % (stats["connections"], stats["cuts"],
                                                     stats["bytes"]), flush=True)

asyncio.run(main())
