// Profiles by id, fetched once and kept until the server says a profile changed
// (`_profiles`): the brewer prompts and the chart's event marks both read a chamber's
// profile points, and neither should ask the server every tick; the cards' profile
// controls share one list of every profile.

const cache = new Map(); // id -> {promise, value}
let list = null; // a promise of every profile, until one changes
const listListeners = new Set();
let listening = false;

function listen(app) {
  if (listening) return;
  listening = true;
  const forget = () => {
    cache.clear();
    list = null;
    for (const listener of listListeners) listener();
  };
  app.channels.subscribe("_profiles", forget, { onReset: forget });
}

/** The profile with `id` (a promise); null when it cannot be read. */
export function profileById(app, id) {
  listen(app);
  let entry = cache.get(id);
  if (!entry) {
    entry = { value: undefined, promise: null };
    entry.promise = app.api.get(`/api/profiles/${id}`).then(
      (profile) => { entry.value = profile; return profile; },
      () => { entry.value = null; return null; }, // deleted meanwhile: nothing to show
    );
    cache.set(id, entry);
  }
  return entry.promise;
}

/** The profile if it is already here, else undefined (and it is fetched for next time). */
export function profileNow(app, id) {
  const entry = cache.get(id);
  if (entry) return entry.value;
  profileById(app, id);
  return undefined;
}

/** Every profile (a promise), fetched once until `_profiles` says one changed. */
export function profileList(app) {
  listen(app);
  if (!list) list = app.api.get("/api/profiles").catch(() => { list = null; return []; });
  return list;
}

/** Calls `listener()` whenever a profile is created, changed or deleted. */
export function onProfilesChanged(app, listener) {
  listen(app);
  listListeners.add(listener);
  return () => listListeners.delete(listener);
}
