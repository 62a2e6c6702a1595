// The baseline for load runs: a Worker that forwards every request to the origin unchanged,
// so the gateway's added cost is the difference.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
