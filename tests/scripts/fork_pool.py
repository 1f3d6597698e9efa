"""Workers of a multiprocessing pool call appstats after the parent did.

argv[1]: the start method (fork, spawn, forkserver).
"""

import multiprocessing as mp
import sys

import appstats as aps


def work(args: tuple[str, str, str, str]) -> int:
    url, client_id, secret, day = args
    # A client made in the worker, and (fork only) the parent's client too.
    bd = aps.BaiduSmartApp(client_id=client_id, client_secret=secret, base_url=url)
    n = bd.region(day, day, progress=False).height
    if PARENT_CLIENT is not None:
        n += PARENT_CLIENT.region(day, day, progress=False).height
    return n


PARENT_CLIENT = None

if __name__ == "__main__":
    method = sys.argv[1]
    with aps.Sandbox() as sb:
        creds = sb.credentials
        bd = sb.baidu()
        expected = bd.region("2024-03-01", "2024-03-01", progress=False).height
        if method == "fork":
            PARENT_CLIENT = bd  # inherited by the children
        ctx = mp.get_context(method)
        days = [f"2024-03-0{d}" for d in range(1, 5)]
        with ctx.Pool(2) as pool:
            cid, secret = creds["baidu_client_id"], creds["baidu_client_secret"]
            result = pool.map_async(work, [(sb.url, cid, secret, d) for d in days])
            heights = result.get(timeout=60)
        assert all(h > 0 for h in heights), heights
        # the parent still works after its children did
        assert bd.region("2024-03-02", "2024-03-02", progress=False).height > 0
    print("ok", method, heights)
