/**
 * Receive buffer for the sockets media comes in on (a publisher's transport, plain RTP ingest,
 * pipes from another router or sfu). An encoder sends a key frame as a burst of a hundred packets
 * or more within a millisecond, while the worker is busy copying each packet to every consumer; a
 * default-sized buffer (net.core.rmem_default, 208 KiB) overflows and the key frame is lost for
 * every viewer (measured by bench/sfu-fanout.ts: 10 % loss at 400 consumers with the default, none
 * with this). The kernel caps it at net.core.rmem_max: raise that too on a production host.
 */
export const INGRESS_RECV_BUFFER_BYTES = 4 * 1024 * 1024;
