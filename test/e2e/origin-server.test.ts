import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startOrigin } from '../../scripts/lib/origin-server.mjs'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the demo and drill origins', () => {
  it("keep an idle connection open past Node's 5 s keep-alive default", async () => {
    const origin = await startOrigin({ id: 'idle' })
    const socket = connect(origin.port, '127.0.0.1')
    try {
      let received = ''
      let closed = false
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        received += chunk
      })
      socket.on('close', () => {
        closed = true
      })
      const answers = () => received.match(/^HTTP\/1\.1 200/gm)?.length ?? 0
      const request = 'GET /posts/hello-world HTTP/1.1\r\nHost: origin.test\r\n\r\n'
      const until = async (n: number) => {
        for (let i = 0; i < 100 && answers() < n && !closed; i++) await sleep(20)
      }
      socket.write(request)
      await until(1)
      expect(answers()).toBe(1)
      // Node closes an idle one after 5 s (plus a second's grace): workerd, reusing it, would lose
      // the next request.
      await sleep(7_000)
      expect(closed).toBe(false)
      socket.write(request)
      await until(2)
      expect(answers()).toBe(2)
    } finally {
      socket.destroy()
      await origin.close()
    }
  }, 20_000)
})
