// What a visitor taught a widget, kept in this browser (IndexedDB) across visits, per kind of
// teaching and model folder: the examples (model inputs, each with its label) and the personal
// model trained on them (what the worker's train gave for its kind: a model's two files for
// digits, the head alone for photos; with the fingerprint of the shipped model it was trained
// from: a new shipped model never loads stale weights). The page keeps it, not the worker. Every failure rejects with why, in words for people ("the browser's storage for this
// site is full").
const DB = "pycore-taught";
const STORE = "taught";

let database = null;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  database ??= (async () => {
    if (!globalThis.indexedDB) throw new Error("this browser has no IndexedDB");
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    return request(req);
  })();
  database.catch(() => (database = null)); // the next call tries again
  return database;
}

// Runs `fn(store)` in one transaction; resolves to its request's result once the transaction is
// committed (a write that the disk or the quota refused rejects, naming why).
async function transact(mode, fn) {
  const db = await open();
  const tx = db.transaction(STORE, mode);
  const result = request(fn(tx.objectStore(STORE)));
  result.catch(() => {}); // its failure aborts the transaction, which reports it below
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error || new Error("the transaction was aborted"));
  });
  return result;
}

async function explained(promise) {
  try {
    return await promise;
  } catch (e) {
    const full = e?.name === "QuotaExceededError";
    throw new Error(full ? "the browser's storage for this site is full" : `${e?.name || "Error"}: ${e?.message || e}`);
  }
}

export class Taught {
  /** What was taught for `kind` of teaching ("digits") on the model folder at `url`. */
  constructor(kind, url) {
    this.key = `${kind} ${url}`;
  }

  /** [{input: Float32Array, label}] */
  async examples() {
    return (await this.#get("examples")) || [];
  }

  /** {fingerprint, json, weights: Uint8Array, loss, ms, backend, examples} or null */
  async personal() {
    return (await this.#get("personal")) || null;
  }

  saveExamples(examples) {
    return this.#put("examples", examples);
  }

  /** The labels given, in order, those without examples yet too (a class named, no photo yet). */
  async labels() {
    return (await this.#get("labels")) || [];
  }

  saveLabels(labels) {
    return this.#put("labels", labels);
  }

  /** Keeps the personal model, or forgets it (null). */
  savePersonal(personal) {
    return personal ? this.#put("personal", personal) : this.#delete("personal");
  }

  #get(part) {
    return explained(transact("readonly", (s) => s.get(`${this.key} ${part}`)));
  }

  async #put(part, value) {
    await explained(transact("readwrite", (s) => s.put(value, `${this.key} ${part}`)));
  }

  async #delete(part) {
    await explained(transact("readwrite", (s) => s.delete(`${this.key} ${part}`)));
  }
}
