import { mapWithStateIo } from "./test/bench/map-with-state-io.js";
for (const stateBytes of [0, 200]) { const io = await mapWithStateIo({ stateKeys: 10_000_000, changedKeys: 10_000, stateBytes });
console.log(stateBytes, io.changedBytes, JSON.stringify(io.perKey), (io.perKey.bytesRead / io.changedBytes).toFixed(2), (io.perKey.bytesWritten / io.changedBytes).toFixed(2)); }
