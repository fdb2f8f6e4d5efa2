'use strict';
// The worker thread behind createOcrRuntime: tesseract.js's own worker (tesseract.js/src/worker-script)
// with our adapter in place of its node one (tesseract.js/src/worker-script/node/index.js), for two
// reasons:
// - Determinism. tesseract.js picks its wasm build by engine features: the relaxed-SIMD build where
//   V8 has relaxed SIMD (Node 22+, or Node 20 with a flag), plain SIMD otherwise (Node 20). Relaxed
//   SIMD lets results differ between CPUs by design (fused or not, saturating or not), which could
//   break exact-mode audits between a provider and a verifier on different Node versions or CPUs,
//   so we pin the plain SIMD LSTM build, whose results the wasm spec fixes. (On one x86-64 machine
//   both builds gave identical results on our test images; the pin is for the machines that differ.)
// - Offline. The only network paths are a URL langPath (its default is the jsDelivr CDN) and
//   global fetch; both refuse here, so a misconfiguration fails loudly instead of downloading.
// It reaches into tesseract.js's files (no exports map guards them): re-check on upgrades; the
// runtime's tests fail at start-up if these paths move.
const { readFile } = require('node:fs/promises');
const net = require('node:net');
const { gunzipSync } = require('node:zlib');
const { format } = require('node:util');
const { parentPort } = require('node:worker_threads');

// tesseract, leptonica and libpng print diagnostics through console (the wasm core binds
// console.log/error when it loads, after this). Send them to the runtime as messages instead of
// the process's stdout, where they would mix with the daemon's logs. (Worker's own `stdout: true`
// option would do it too, but its streams keep the process alive even when the worker is unref'd.)
for (const method of ['log', 'info', 'warn', 'error', 'debug']) {
  console[method] = (...args) => parentPort.postMessage({ output: format(...args) });
}

function refuseNetwork(what) {
  return new Error(`Agora's OCR worker runs offline and refused ${what}; point langPath at local files.`);
}
globalThis.fetch = async (url) => {
  throw refuseNetwork(`to fetch ${String(url)}`);
};
net.Socket.prototype.connect = function connect() {
  throw refuseNetwork('to open a network connection');
};

const worker = require('tesseract.js/src/worker-script');

worker.setAdapter({
  // The pinned core; `lstmOnly` is false only for the legacy engine, which we never request.
  getCore: async (lstmOnly) => {
    if (!lstmOnly) throw new Error('Agora only ships the LSTM tesseract core (OEM.LSTM_ONLY).');
    return require('tesseract.js-core/tesseract-core-simd-lstm');
  },
  gunzip: gunzipSync,
  fetch: async (url) => {
    throw refuseNetwork(`to fetch ${url}`);
  },
  // With cacheMethod 'none' tesseract.js only reads (the traineddata at langPath); never write.
  readCache: (path) => readFile(path),
  writeCache: async () => {},
  deleteCache: async () => {},
  checkCache: async () => false,
});

parentPort.on('message', (packet) => {
  worker.dispatchHandlers(packet, (message) => parentPort.postMessage(message));
});
