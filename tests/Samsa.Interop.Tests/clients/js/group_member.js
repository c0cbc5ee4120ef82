// kafkajs as a long-running consumer-group member, printing the same JSON lines as kafka_python_group_member.py:
//   node group_member.js member BOOTSTRAP TOPIC GROUP [key=value ...]
// Options: assignor (range|roundrobin), session_timeout_ms, heartbeat_interval_ms, max_poll_interval_ms (kafkajs's
// rebalanceTimeout), auto_offset_reset (earliest|latest). Events: assigned {partitions, member, generation: null},
// record {partition, offset, value}, committing and committed {partition, offset}, commit_failed {error}, error {error},
// closed. kafkajs has no revocation callback (a new assignment replaces the old one) and does not expose the
// generation. Each record is committed once printed (autoCommit off). Stdin: "close" (or end of stdin) disconnects,
// which leaves the group.
//
// The group protocol: kafkajs 2.2.4 ships only "RoundRobinAssigner", a name no other client offers, so a mixed group
// could never agree on a protocol. This file gives kafkajs Kafka's "range" assignor (per topic, members sorted by
// member id, the first partitions % members members get one extra), which librdkafka and kafka-python both offer.
const readline = require('readline');
const { Kafka, logLevel, AssignerProtocol: { MemberMetadata, MemberAssignment } } = require('kafkajs');

const emit = (event, fields = {}) => console.log(JSON.stringify({ ...fields, event, ts: Date.now() }));

const rangeAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,
  async assign({ members, topics }) {
    const subscriptions = members.map(({ memberId, memberMetadata }) => ({ memberId, topics: MemberMetadata.decode(memberMetadata).topics }));
    const assignment = Object.fromEntries(members.map(({ memberId }) => [memberId, {}]));
    for (const topic of topics) {
      const consumers = subscriptions.filter(s => s.topics.includes(topic)).map(s => s.memberId).sort();
      const partitions = cluster.findTopicPartitionMetadata(topic).map(m => m.partitionId).sort((a, b) => a - b);
      const per = Math.floor(partitions.length / consumers.length);
      const extra = partitions.length % consumers.length;
      consumers.forEach((memberId, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        if (length > 0) assignment[memberId][topic] = partitions.slice(start, start + length);
      });
    }
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: MemberAssignment.encode({ version: this.version, assignment: assignment[memberId] }),
    }));
  },
  protocol({ topics }) {
    return { name: this.name, metadata: MemberMetadata.encode({ version: this.version, topics }) };
  },
});

(async () => {
  const [, , command, broker, topic, group, ...rest] = process.argv;
  if (command !== 'member') throw new Error(`unknown command ${command}`);
  const options = Object.fromEntries(rest.map(a => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  const assigners = { range: [rangeAssigner], roundrobin: undefined }[options.assignor ?? 'range'];
  const kafka = new Kafka({ clientId: options.client_id ?? 'kafkajs-member', brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: group,
    partitionAssigners: assigners,
    sessionTimeout: Number(options.session_timeout_ms ?? 10000),
    heartbeatInterval: Number(options.heartbeat_interval_ms ?? 500),
    rebalanceTimeout: Number(options.max_poll_interval_ms ?? 30000),
    maxWaitTimeInMs: 100,
    metadataMaxAge: 5000,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => emit('assigned', {
    partitions: (payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b),
    member: payload.memberId,
    generation: null,
  }));
  consumer.on(consumer.events.CRASH, ({ payload }) => emit('error', { error: String(payload.error) }));
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await consumer.disconnect();
    emit('closed');
    process.exit(0);
  };
  readline.createInterface({ input: process.stdin })
    .on('line', line => { if (line.trim() === 'close') close(); })
    .on('close', close);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: (options.auto_offset_reset ?? 'earliest') === 'earliest' });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const next = Number(message.offset) + 1;
      emit('record', { partition, offset: Number(message.offset), value: message.value.toString() });
      emit('committing', { partition, offset: next });
      try {
        await consumer.commitOffsets([{ topic, partition, offset: String(next) }]);
        emit('committed', { partition, offset: next });
      } catch (e) {
        emit('commit_failed', { error: String(e) });
      }
    },
  });
})().catch(e => { emit('error', { error: String(e) }); process.exit(1); });
