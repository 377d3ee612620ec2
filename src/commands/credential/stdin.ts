/** All of stdin as UTF-8 text: git writes its request and closes the pipe. */
export async function readText(stream: NodeJS.ReadableStream): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })
  }
  return text + decoder.decode()
}
