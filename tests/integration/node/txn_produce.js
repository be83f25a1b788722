'use strict'
// Usage: node txn_produce.js <spec.json>
// A kafkajs transactional producer (idempotent, one request in flight) runs
// the transactions of the spec in order: each one sends its messages (one
// send() per transaction, acks -1) and then commits or aborts.
//   {"brokers": ["h:p"], "transactionalId": "t", "topic": "x", "timeoutMs": 60000,
//    "transactions": [{"commit": true, "messages": [{"p": 0, "k": "key", "v": "value"}]}]}
// Prints one JSON line {"ok": true, "committed": n, "aborted": m}.
// Exits 1 on a client error (the message on stderr) and 2 on the timeout.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const timeoutMs = spec.timeoutMs || 60000
const guard = setTimeout(() => {
  console.error(`txn_produce did not finish within ${timeoutMs} ms`)
  process.exit(2)
}, timeoutMs)

async function main () {
  const kafka = new Kafka({
    clientId: 'samsa-itest-kafkajs-txn',
    brokers: spec.brokers,
    logLevel: logLevel.ERROR,
    connectionTimeout: 3000,
    requestTimeout: 10000
  })
  const producer = kafka.producer({
    transactionalId: spec.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 30000,
    allowAutoTopicCreation: false
  })
  await producer.connect()
  let committed = 0
  let aborted = 0
  try {
    for (const t of spec.transactions) {
      const txn = await producer.transaction()
      await txn.send({
        topic: spec.topic,
        acks: -1,
        messages: t.messages.map((m) => ({ partition: m.p, key: m.k, value: m.v }))
      })
      if (t.commit) {
        await txn.commit()
        committed++
      } else {
        await txn.abort()
        aborted++
      }
    }
  } finally {
    await producer.disconnect()
  }
  console.log(JSON.stringify({ ok: true, committed, aborted }))
}

main().then(
  () => { clearTimeout(guard); process.exit(0) },
  (err) => {
    console.error(`kafkajs error: ${err && err.name}: ${err && err.message}`)
    clearTimeout(guard)
    process.exit(1)
  }
)
