import NIOCore
import NIOHTTP1

/// The handlers of one connection, socket side first:
///
///     IdleStateHandler → IdleCloser → ReplyWriter → RequestFramer → HTTP decoder → RequestHandler
///
/// Bytes come in through the framer, which hands the decoder one head at a time; replies go out
/// from the request handler (or the query worker) through the framer, which counts them, to the
/// writer, which alone writes HTTP bytes. The limits are those of `ServerConfiguration`.
enum ConnectionPipeline {
    static func add(to pipeline: ChannelPipeline.SynchronousOperations, _ configuration: ServerConfiguration,
                    answer: any ChannelHandler, slot: ConnectionTable.Slot?, statistics: ServerStatistics?) throws {
        try pipeline.addHandler(IdleStateHandler(allTimeout: .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9))))
        try pipeline.addHandler(IdleCloser())
        try pipeline.addHandler(ReplyWriter())
        try pipeline.addHandler(RequestFramer(maxHeadBytes: configuration.maxHeadBytes,
                                              headTimeout: .nanoseconds(Int64(configuration.headTimeoutSeconds * 1e9)),
                                              readChunkBytes: ServerConfiguration.readChunkBytes,
                                              slot: slot, statistics: statistics))
        // The framer passes whole heads only, so the decoder never holds more than one.
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes),
                                                     maximumBufferSize: configuration.maxHeadBytes))
        try pipeline.addHandler(answer)
    }
}
