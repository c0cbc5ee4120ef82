// kafkajs as a transactional copier: node txn_copy.js BOOTSTRAP INPUT OUTPUT GROUP TXNID BATCH ABORT COUNT
// A consumer of GROUP (read_committed: readUncommitted false, no auto commit) and a transactional producer
// (transactionalId TXNID, idempotent, maxInFlightRequests 1) copy each input record to the same partition of OUTPUT:
// every fetched batch of a partition goes out in transactions of up to BATCH records, each with transaction.sendOffsets
// for the records it copied. Transaction number ABORT (1-based) is aborted on purpose once, then the same records are
// copied again in a new transaction. Stops when COUNT records were committed. Prints one JSON line per transaction
// and {"done": true, ...} last.
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const [, , broker, input, output, groupId, transactionalId, batchArg, abortArg, countArg] = process.argv;
  const batchSize = Number(batchArg);
  const abortAt = Number(abortArg);
  const count = Number(countArg);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs-txn-copy', brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });

  let copied = 0;
  let aborted = 0;
  let transactions = 0;
  let finish;
  const finished = new Promise(resolve => { finish = resolve; });

  async function copyInTransaction(partition, messages) {
    transactions++;
    const transaction = await producer.transaction();
    try {
      await transaction.send({
        topic: output,
        acks: -1,
        messages: messages.map(m => ({ key: m.key, value: m.value, partition })),
      });
      const next = (BigInt(messages[messages.length - 1].offset) + 1n).toString();
      await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition, offset: next }] }] });
      if (transactions === abortAt) {
        await transaction.abort();
        aborted += messages.length;
        console.log(JSON.stringify({ event: 'aborted', txn: transactions, partition, records: messages.length }));
        return false;
      }
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      throw error;
    }
    copied += messages.length;
    console.log(JSON.stringify({ event: 'committed', txn: transactions, partition, records: messages.length, copied }));
    return true;
  }

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (let start = 0; start < batch.messages.length && isRunning() && !isStale(); start += batchSize) {
        const chunk = batch.messages.slice(start, start + batchSize);
        // An aborted transaction's records are copied again in the next one.
        while (!(await copyInTransaction(batch.partition, chunk))) {
        }
        resolveOffset(chunk[chunk.length - 1].offset);
        await heartbeat();
        if (copied >= count) {
          finish();
        }
      }
    },
  });
  await finished;
  await consumer.disconnect();
  await producer.disconnect();
  console.log(JSON.stringify({ done: true, copied, aborted, transactions }));
  process.exit(copied === count ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(3);
});
