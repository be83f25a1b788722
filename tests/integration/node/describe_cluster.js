'use strict'
// Usage: node describe_cluster.js <host:port> [timeout-ms]
// Prints the result of kafkajs admin.describeCluster() as one JSON line,
// plus the ApiVersions kafkajs negotiated, so the pytest side can check both.
// Exits 1 on any client error and 2 if the whole run exceeds the timeout.
const { Kafka, logLevel } = require('kafkajs')

const bootstrap = process.argv[2]
const timeoutMs = Number(process.argv[3] || 15000)
if (!bootstrap) {
  console.error('usage: node describe_cluster.js <host:port> [timeout-ms]')
  process.exit(64)
}

const guard = setTimeout(() => {
  console.error(`describeCluster did not finish within ${timeoutMs} ms`)
  process.exit(2)
}, timeoutMs)

async function main () {
  const kafka = new Kafka({
    clientId: 'samsa-itest-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 2, initialRetryTime: 100 }
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const cluster = await admin.describeCluster()
    console.log(JSON.stringify(cluster))
  } finally {
    await admin.disconnect()
  }
}

main().then(
  () => { clearTimeout(guard); process.exit(0) },
  (err) => {
    console.error(`kafkajs error: ${err && err.name}: ${err && err.message}`)
    clearTimeout(guard)
    process.exit(1)
  }
)
