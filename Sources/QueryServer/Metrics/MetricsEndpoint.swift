/// `GET /metrics`, and the same exposition for the textfile.
public enum MetricsEndpoint {
    static func response(_ context: QueryContext, accept: String?) -> Response {
        let format = MetricsFormat.negotiate(accept: accept)
        return Response(status: .ok, contentType: format.contentType, body: MetricsText.render(DrumMetrics.families(context), format))
    }

    /// The exposition for node_exporter's textfile collector: the text format, without the
    /// daemon's `process_*` (node_exporter exports its own under those names, and a name
    /// collected twice fails its whole scrape).
    public static func textfile(_ context: QueryContext) -> [UInt8] {
        MetricsText.render(DrumMetrics.families(context, DrumMetrics.Options(includeProcess: false)), .text)
    }
}
