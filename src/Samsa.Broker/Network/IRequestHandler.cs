using Samsa.Broker.Config;

namespace Samsa.Broker.Network;

/// <summary>
/// What the network layer hands a request to (Kafka's <c>RequestChannel</c> feeding <c>KafkaApis</c>). The handler
/// gets one whole request frame (header and body, size prefix removed) and returns the response to send, or null
/// when the request gets no response (acks=0 produce). Throwing <see cref="Samsa.Protocol.ProtocolException"/> or
/// <see cref="InvalidRequestException"/> closes only this connection; errors that belong to one request are the
/// handler's to turn into an error response.
/// </summary>
public interface IRequestHandler
{
    /// <param name="request">Valid only until the returned task completes: it lives in a pooled buffer.</param>
    ValueTask<IResponseFrame?> HandleAsync(ConnectionContext connection, ReadOnlyMemory<byte> request, CancellationToken cancellationToken);
}

/// <summary>A response ready to frame: its exact size first, then written into a span of that size.</summary>
public interface IResponseFrame
{
    int Size { get; }

    void Write(Span<byte> destination);

    /// <summary>
    /// Bytes of <see cref="Size"/> that are records in files (fetched records), which the connection sends with
    /// sendfile rather than having them written; 0 for most responses.
    /// </summary>
    int ExternalBytes => 0;

    /// <summary>
    /// Writes the frame without its external records (into <see cref="Size"/> - <see cref="ExternalBytes"/> bytes),
    /// listing where each belongs.
    /// </summary>
    void Write(Span<byte> destination, List<Samsa.Protocol.Records.ExternalSlice> external) => Write(destination);
}

/// <summary>
/// A request the broker will not serve on this connection (unknown API key, unsupported version, a header that
/// does not parse). Connection-level: Kafka closes the connection for these (<c>SocketServer.parseRequestHeader</c>).
/// </summary>
public sealed class InvalidRequestException(string message) : Exception(message);

/// <summary>Per-connection facts and state the handlers may read or record (Kafka's <c>RequestContext</c> inputs).</summary>
public sealed class ConnectionContext(string connectionId, string listenerName, SecurityProtocol securityProtocol, System.Net.EndPoint? remoteEndPoint)
{
    /// <summary>Kafka's form: <c>localHost:localPort-remoteHost:remotePort-index</c>.</summary>
    public string ConnectionId { get; } = connectionId;

    public string ListenerName { get; } = listenerName;

    public SecurityProtocol SecurityProtocol { get; } = securityProtocol;

    public System.Net.EndPoint? RemoteEndPoint { get; } = remoteEndPoint;

    /// <summary>Set from ApiVersions v3+ (KIP-511); "unknown" until then, as Kafka reports it.</summary>
    public string ClientSoftwareName { get; set; } = "unknown";

    public string ClientSoftwareVersion { get; set; } = "unknown";

    /// <summary>The client's address (IPv4-mapped IPv6 unmapped), what ACL host rules and per-IP quotas match.</summary>
    public System.Net.IPAddress? ClientAddress => RemoteEndPoint is System.Net.IPEndPoint ip
        ? (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address)
        : null;

    /// <summary>
    /// Who the connection authenticated as: <c>User:ANONYMOUS</c> until a SASL exchange or a client certificate
    /// says otherwise. Set by the transport (TLS) and the authentication stage (SASL), read by every authorization.
    /// </summary>
    public Samsa.Broker.Security.KafkaPrincipal Principal { get; set; } = Samsa.Broker.Security.KafkaPrincipal.Anonymous;

    /// <summary>The SASL stage of a SASL_PLAINTEXT or SASL_SSL connection; null on listeners without SASL.</summary>
    public Samsa.Broker.Security.Sasl.SaslServerAuthenticator? Authentication { get; init; }

    /// <summary>Set by a handler whose answer ends the connection (a failed authentication): closed once it is sent.</summary>
    public bool CloseAfterResponse { get; set; }

    /// <summary>
    /// Set by the Fetch handler: whether the connection's current fetch came from a follower broker, so the request
    /// metrics name it as Kafka does (<c>FetchFollower</c> or <c>FetchConsumer</c>). One request at a time per connection.
    /// </summary>
    public bool FetchFromFollower { get; set; }

    private long _remoteTicks;

    /// <summary>
    /// Kafka's RemoteTimeMs of the connection's current request: <see cref="System.Diagnostics.Stopwatch"/> ticks it
    /// spent waiting on others rather than working (a produce with acks=all waiting for the ISR, a fetch long-polling
    /// for <c>min_bytes</c>, a JoinGroup or SyncGroup waiting for the rebalance, an offset commit waiting for its
    /// records to replicate). One request at a time per connection, so a plain field; the connection clears it before
    /// each request and subtracts it from the handler's time to give LocalTimeMs.
    /// </summary>
    public long RemoteTicks => _remoteTicks;

    /// <summary>Counts the time since <paramref name="waitStarted"/> (a <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>) as remote.</summary>
    public void AddRemoteTime(long waitStarted) => _remoteTicks += System.Diagnostics.Stopwatch.GetTimestamp() - waitStarted;

    internal void ResetRemoteTime() => _remoteTicks = 0;

    private int _throttleMs;
    private Samsa.Broker.Quotas.ThrottledChannels? _throttledBy;

    /// <summary>
    /// KIP-219: a quota was exceeded, so after this response is sent the connection reads no request for
    /// <paramref name="throttleTimeMs"/> (Kafka mutes the channel). The longest of several wins, and the connection
    /// counts in its quota's <paramref name="queue"/> while muted (Kafka queues the channel under that quota).
    /// </summary>
    public void Throttle(int throttleTimeMs, Samsa.Broker.Quotas.ThrottledChannels? queue = null)
    {
        var current = Volatile.Read(ref _throttleMs);
        while (throttleTimeMs > current)
        {
            var seen = Interlocked.CompareExchange(ref _throttleMs, throttleTimeMs, current);
            if (seen == current)
            {
                // One request at a time per connection: its quotas are applied one after another, so the queue of
                // the throttle that won is the last one written.
                Volatile.Write(ref _throttledBy, queue);
                return;
            }
            current = seen;
        }
    }

    /// <summary>The pending mute, cleared: what the read loop waits before taking the next request, and the quota queue it counts in.</summary>
    internal int TakeThrottle(out Samsa.Broker.Quotas.ThrottledChannels? queue)
    {
        queue = Interlocked.Exchange(ref _throttledBy, null);
        return Interlocked.Exchange(ref _throttleMs, 0);
    }
}
