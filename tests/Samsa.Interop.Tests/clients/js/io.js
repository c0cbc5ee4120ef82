// kafkajs as a producer, speaking the same JSON lines as the other interop clients:
//   node io.js produce BOOTSTRAP TOPIC CODEC   (CODEC: none, gzip, snappy, lz4 or zstd)
// A message line: {"key": b64|null, "value": b64|null, "headers": [[name, b64]], "timestamp": ms|null}.
// kafkajs has no way to read a partition without a consumer group, so it joins the matrix as a producer only.
const readline = require('readline');
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs');
const registerCodecs = require('./codecs');

const b64 = text => (text === null ? null : Buffer.from(text, 'base64'));

(async () => {
  const [, , command, broker, topic, codec] = process.argv;
  if (command !== 'produce') throw new Error(`unknown command ${command}`);
  await registerCodecs(CompressionTypes, CompressionCodecs);
  const compression = {
    none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD,
  }[codec];
  if (compression === undefined) throw new Error(`unknown codec ${codec}`);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const lines = [];
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim()) lines.push(JSON.parse(line));
  }
  for (const m of lines) {
    await producer.send({
      topic,
      acks: -1,
      compression,
      messages: [{
        partition: 0,
        key: b64(m.key),
        value: b64(m.value),
        headers: Object.fromEntries(m.headers.map(([name, value]) => [name, b64(value)])),
        timestamp: m.timestamp === null ? undefined : String(m.timestamp),
      }],
    });
  }
  await producer.disconnect();
  console.log(JSON.stringify({ produced: lines.length }));
})().catch(e => { console.error(e); process.exit(1); });
