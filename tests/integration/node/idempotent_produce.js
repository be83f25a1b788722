'use strict'
// Usage: node idempotent_produce.js <host:port> <topic> <records> [timeout-ms]
// Produces <records> values "kjs-000000", "kjs-000001", ... to partition 0
// with an idempotent kafkajs producer (idempotent: true, acks -1, one
// request in flight as kafkajs needs for ordered sequences), 100 per send().
// Prints one JSON line {"sent": n, "responses": [[partition, baseOffset], ...]}.
// Exits 1 on a client error and 2 if the run exceeds the timeout.
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, topic, countArg] = process.argv.slice(2, 5)
const timeoutMs = Number(process.argv[5] || 60000)
if (!bootstrap || !topic || !countArg) {
  console.error('usage: node idempotent_produce.js <host:port> <topic> <records> [timeout-ms]')
  process.exit(64)
}
const guard = setTimeout(() => {
  console.error(`idempotent_produce did not finish within ${timeoutMs} ms`)
  process.exit(2)
}, timeoutMs)

async function main () {
  const count = Number(countArg)
  const kafka = new Kafka({
    clientId: 'samsa-itest-kafkajs-idempotent',
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    connectionTimeout: 3000,
    requestTimeout: 10000
  })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await producer.connect()
  const responses = []
  try {
    for (let i = 0; i < count; i += 100) {
      const messages = []
      for (let j = i; j < Math.min(count, i + 100); j++) {
        messages.push({ partition: 0, value: `kjs-${String(j).padStart(6, '0')}` })
      }
      const result = await producer.send({ topic, acks: -1, messages })
      for (const r of result) responses.push([r.partition, Number(r.baseOffset)])
    }
  } finally {
    await producer.disconnect()
  }
  console.log(JSON.stringify({ sent: count, responses }))
}

main().then(
  () => { clearTimeout(guard); process.exit(0) },
  (err) => {
    console.error(`kafkajs error: ${err && err.name}: ${err && err.message}`)
    clearTimeout(guard)
    process.exit(1)
  }
)
