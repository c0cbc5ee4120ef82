// kafkajs's admin consumer-group calls against a group that a consumer has left with committed offsets: list,
// describe, fetch offsets, set an offset (as an inactive group allows), delete, and delete a group that does not
// exist. Prints one JSON object.
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const [bootstrap, group, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs-group-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const out = {};
  const offsetsOf = async () => {
    const fetched = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Object.fromEntries(fetched[0].partitions.map(p => [String(p.partition), Number(p.offset)]));
  };
  out.listed = (await admin.listGroups()).groups.filter(g => g.groupId === group).map(g => [g.groupId, g.protocolType]);
  const described = (await admin.describeGroups([group])).groups[0];
  out.described = { error: described.errorCode, state: described.state, protocolType: described.protocolType, members: described.members.length };
  out.offsets = await offsetsOf();
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '1' }] });
  out.offsetsAfterSet = await offsetsOf();
  out.deleted = (await admin.deleteGroups([group])).map(g => [g.groupId, g.errorCode]);
  out.listedAfterDelete = (await admin.listGroups()).groups.filter(g => g.groupId === group).map(g => g.groupId);
  try {
    await admin.deleteGroups(['no-such-group-' + group]);
    out.deleteUnknown = 'no error';
  } catch (e) {
    out.deleteUnknown = (e.groups || []).map(g => [g.groupId, g.error ? g.error.type : g.errorCode]);
  }
  await admin.disconnect();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
