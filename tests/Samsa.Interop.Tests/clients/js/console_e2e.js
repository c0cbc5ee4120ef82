// The web console in a real browser (Debian's Chromium, headless, driven by playwright-core), against a running
// broker: creates a topic through the console's form, produces a message with kafkajs and finds it in the message
// browser, then watches a consumer group's lag appear (records produced past its committed offsets) and fall (the
// group consumes and commits). Saves a screenshot of each page at 1280x800 and one at phone width.
// Usage: node console_e2e.js <console-url> <bootstrap> <screenshot-dir>
// Prints one JSON object with what it saw; exits 1 with the reason on the first failed step.
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { Kafka, logLevel } = require('kafkajs');

const [consoleUrl, bootstrap, shots] = process.argv.slice(2);
const topic = 'console-e2e';
const groupId = 'console-e2e-group';
const STEP_TIMEOUT = 15000;

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const kafka = new Kafka({ clientId: 'samsa-console-e2e', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const out = { screenshots: [] };
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on('pageerror', e => errors.push(String(e)));
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
    const shot = async (name, options) => {
      const file = path.join(shots, name + '.png');
      await page.screenshot({ path: file, ...options });
      out.screenshots.push(file);
    };

    // Overview: the broker and its controller.
    await page.goto(consoleUrl);
    await page.getByRole('heading', { level: 1, name: 'Cluster overview' }).waitFor();
    out.brokers = Number(await page.locator('#stat-brokers').textContent());
    out.controller = await page.locator('#stat-controller').textContent();
    // Keyboard: the first Tab reaches the skip link, Enter on it moves focus to the page's content.
    await page.keyboard.press('Tab');
    out.firstTab = await page.evaluate(() => document.activeElement.textContent);
    await page.keyboard.press('Enter');
    out.afterSkip = await page.evaluate(() => document.activeElement.id + location.hash);

    // Create a topic through the form (keyboard: labels find the fields, Enter submits).
    await page.getByRole('link', { name: 'Topics' }).click();
    await page.getByRole('heading', { level: 1, name: 'Topics' }).waitFor();
    await page.getByLabel('Topic name').fill(topic);
    await page.getByLabel('Partitions').fill('3');
    await page.getByLabel('Replication factor').fill('1');
    await page.getByLabel('Topic configs').fill('retention.ms=7200000\ncleanup.policy=delete');
    await page.getByRole('button', { name: 'Create topic' }).click();
    await page.getByRole('heading', { level: 1, name: 'Topic ' + topic }).waitFor();
    out.partitionRows = await page.locator('#partitions tbody tr').count();
    const retention = page.locator('#configs tbody tr', { hasText: 'retention.ms' }).first();
    out.retention = (await retention.locator('td').nth(1).textContent()).trim();
    out.retentionSource = (await retention.locator('td').nth(2).textContent()).trim();

    // The broker sees the topic the console created: produce through it with kafkajs.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [{ partition: 1, key: 'order-42', value: JSON.stringify({ item: 'lamp', qty: 2 }), headers: { 'trace-id': 'abc-123' } }],
    });
    // The topic page refreshes itself: partition 1's high watermark moves to 1.
    await page.waitForFunction(() => document.querySelector('#partitions tbody tr:nth-child(2) td:nth-child(6)')?.textContent === '1', null, { timeout: STEP_TIMEOUT });
    out.partition1HighWatermark = Number(await page.locator('#partitions tbody tr:nth-child(2) td:nth-child(6)').textContent());
    await shot('topic');

    // Message browser: partition 1 from offset 0, shown as JSON.
    await page.getByRole('link', { name: 'Messages', exact: true }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Message browser' }).waitFor();
    await page.getByLabel('Topic').selectOption(topic);
    await page.getByLabel('Partition').fill('1');
    await page.getByLabel('Start at').selectOption('offset');
    await page.getByLabel('Offset or time').fill('0');
    await page.getByLabel('Show as').selectOption('json');
    await page.getByRole('button', { name: 'Show messages' }).click();
    const row = page.locator('#messages tbody tr', { hasText: 'order-42' });
    await row.waitFor();
    out.messageKey = (await row.locator('td').nth(2).textContent()).trim();
    out.messageValue = JSON.parse(await row.locator('td').nth(3).textContent());
    out.messageHeaders = (await row.locator('td').nth(4).textContent()).trim();
    await shot('messages');

    await page.getByRole('link', { name: 'Topics' }).click();
    await page.locator('#topics tbody tr', { hasText: topic }).waitFor();
    await shot('topics');

    // Lag appears: the group's offsets are committed at 0 and 20 more records arrive on partition 0.
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ partition: 0, key: 'k' + i, value: 'record ' + i })) });
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [0, 1, 2].map(partition => ({ partition, offset: '0' })) });
    await page.getByRole('link', { name: 'Consumer groups' }).click();
    await page.getByRole('link', { name: groupId }).click();
    await page.getByRole('heading', { level: 1, name: 'Group ' + groupId }).waitFor();
    await page.waitForFunction(() => document.getElementById('group-total-lag')?.textContent === '21', null, { timeout: STEP_TIMEOUT });
    out.lagBefore = Number((await page.locator('#group-total-lag').textContent()).replace(/,/g, ''));
    out.lagPartitionRows = await page.locator('#group-lag tbody tr').count();

    // Lag falls: a consumer of the group reads everything and commits.
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic });
    let consumed = 0;
    let allConsumed;
    const done = new Promise(resolve => { allConsumed = resolve; });
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => { if (++consumed >= 21) allConsumed(); } });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${consumed} of 21`)), STEP_TIMEOUT))]);
    await page.waitForFunction(() => document.getElementById('group-total-lag')?.textContent === '0', null, { timeout: STEP_TIMEOUT });
    out.lagAfter = Number(await page.locator('#group-total-lag').textContent());
    out.consumed = consumed;
    // Members and assignments while the consumer is still in the group.
    await page.waitForFunction(() => document.getElementById('group-members')?.textContent === '1', null, { timeout: STEP_TIMEOUT });
    out.assignment = (await page.locator('#group-members-table tbody tr td').nth(2).textContent()).trim();
    out.chartPaths = await page.locator('svg.chart path').count();
    await shot('group');

    await page.getByRole('link', { name: 'Consumer groups' }).click();
    await page.locator('#groups tbody tr', { hasText: groupId }).waitFor();
    await shot('groups');

    // Overview again, now with traffic in the throughput chart.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cluster overview' }).waitFor();
    await page.waitForTimeout(1500);
    out.topicsAfter = Number(await page.locator('#stat-topics').textContent());
    await shot('overview');

    // Phone width: the same console, tables stacked.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(consoleUrl + '#/groups/' + encodeURIComponent(groupId));
    await page.getByRole('heading', { level: 1, name: 'Group ' + groupId }).waitFor();
    out.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await shot('phone-group', { fullPage: false });

    await consumer.disconnect();
    await admin.disconnect();
    await producer.disconnect();
    out.pageErrors = errors;
    console.log(JSON.stringify(out));
  } catch (e) {
    console.error('console e2e failed: ' + (e && e.stack || e) + '\nsaw so far: ' + JSON.stringify(out) + '\npage errors: ' + JSON.stringify(errors));
    process.exitCode = 1;
  } finally {
    await browser.close();
    process.exit(process.exitCode || 0);
  }
})();
