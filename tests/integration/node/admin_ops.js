'use strict'
// Usage: node admin_ops.js <host:port> <topic> [timeout-ms]
// Runs the kafkajs admin calls the integration tests check, in order, and
// prints one JSON object with each step's result (or its error):
//   create (createTopics with configEntries), duplicate (createTopics of the
//   same name again), metadata, describe (topic + broker configs),
//   alter (alterConfigs), describeAfterAlter, partitions (createPartitions),
//   produce, deleteRecords (deleteTopicRecords), offsets, delete (deleteTopics),
//   list (listTopics after the delete).
// Exits 1 on an unexpected client error and 2 if the run exceeds the timeout.
const { Kafka, logLevel } = require('kafkajs')

const bootstrap = process.argv[2]
const topic = process.argv[3]
const timeoutMs = Number(process.argv[4] || 60000)
if (!bootstrap || !topic) {
  console.error('usage: node admin_ops.js <host:port> <topic> [timeout-ms]')
  process.exit(64)
}

const guard = setTimeout(() => {
  console.error(`admin_ops did not finish within ${timeoutMs} ms`)
  process.exit(2)
}, timeoutMs)

const out = {}

async function step (name, fn) {
  try {
    out[name] = { ok: true, value: await fn() }
  } catch (err) {
    out[name] = { ok: false, error: err && err.type, name: err && err.name, message: err && err.message }
  }
}

async function main () {
  const kafka = new Kafka({
    clientId: 'samsa-itest-kafkajs-admin',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 100 }
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    await step('create', () => admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }]
    }))
    await step('duplicate', () => admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }))
    await step('metadata', () => admin.fetchTopicMetadata({ topics: [topic] }))
    const { ConfigResourceTypes } = require('kafkajs')
    await step('describe', () => admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] },
        { type: ConfigResourceTypes.BROKER, name: '1' }
      ]
    }))
    await step('alter', () => admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }]
    }))
    await step('describeAfterAlter', () => admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }]
    }))
    await step('partitions', () => admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }))
    await step('metadataAfterPartitions', () => admin.fetchTopicMetadata({ topics: [topic] }))
    await step('produce', async () => {
      const producer = kafka.producer()
      await producer.connect()
      try {
        return await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `m${i}` })) })
      } finally {
        await producer.disconnect()
      }
    })
    await step('deleteRecords', () => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] }))
    await step('offsets', () => admin.fetchTopicOffsets(topic))
    await step('delete', () => admin.deleteTopics({ topics: [topic] }))
    await step('list', () => admin.listTopics())
  } finally {
    await admin.disconnect()
  }
  console.log(JSON.stringify(out))
}

main().then(
  () => { clearTimeout(guard); process.exit(0) },
  (err) => {
    console.error(`kafkajs error: ${err && err.name}: ${err && err.message}`)
    console.log(JSON.stringify(out))
    clearTimeout(guard)
    process.exit(1)
  }
)
