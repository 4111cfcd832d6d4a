// Every download the worker makes goes through here (Pyodide's own included, by wrapping fetch):
// - byte progress for the page, summed over everything in flight;
// - the site's large files (listed with their sha256 in manifest.json) kept in the Cache API under
//   their content hash, so a second visit downloads nothing large in any profile (a private
//   window's HTTP cache forgets large files), and a rebuilt file, having a new hash, is fetched anew.
const CACHE = "pycore-files";

export function installDownloads(manifest, root, onProgress) {
  const known = new Map(
    Object.entries(manifest.files).map(([path, info]) => [new URL(path, root).href, info]),
  );
  const network = globalThis.fetch.bind(globalThis);
  const cache = "caches" in globalThis ? caches.open(CACHE).catch(() => null) : Promise.resolve(null);
  const flight = new Map(); // url -> {label, loaded, total}

  function report(url, label, loaded, total) {
    flight.set(url, { label, loaded, total });
    const items = [...flight.values()];
    const sum = (key) => items.reduce((a, item) => a + item[key], 0);
    const labels = [...new Set(items.map((item) => item.label))].join(", ");
    onProgress(labels, sum("loaded"), sum("total"));
    if (items.every((item) => item.loaded >= item.total)) flight.clear();
  }

  // A response whose body reports its bytes as it is read.
  function counted(url, label, response) {
    const total = Number(response.headers.get("content-length")) || 0;
    let loaded = 0;
    const body = response.body.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          loaded += chunk.length;
          report(url, label, loaded, Math.max(total, loaded));
          controller.enqueue(chunk);
        },
      }),
    );
    const { status, statusText, headers } = response;
    return new Response(body, { status, statusText, headers });
  }

  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input, location.href).href;
    const info = known.get(url);
    const label = info?.label || decodeURIComponent(url.split("/").slice(-2).join("/"));
    const store = info ? await cache : null;
    const key = info && `${url}?sha256=${info.sha256}`;
    const hit = store && (await store.match(key));
    if (hit) {
      report(url, label, info.bytes, info.bytes);
      return hit;
    }
    const response = await network(input, init);
    if (!response.ok || !response.body) return response;
    const body = counted(url, label, response);
    if (!store) return body;
    const [mine, kept] = body.body.tee();
    const headers = new Headers(response.headers);
    const keep = async () => {
      for (const old of await store.keys()) if (old.url.startsWith(`${url}?sha256=`)) await store.delete(old);
      await store.put(key, new Response(kept, { headers }));
    };
    keep().catch((e) => console.warn(`could not cache ${url}: ${e.message}`));
    return new Response(mine, { status: response.status, statusText: response.statusText, headers });
  };
}
