using System.Net.Sockets;
using Samsa.Broker.Security.Sasl;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cli;

/// <summary>
/// A minimal blocking Kafka protocol client on Samsa's generated messages, for the few calls Confluent's
/// AdminClient does not expose (a broker's ApiVersions). One request at a time on one connection. Speaks PLAINTEXT,
/// and SASL_PLAINTEXT with PLAIN or SCRAM-SHA-256/512 when the client properties ask for it.
/// </summary>
internal sealed class KafkaWireClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private int _correlationId;

    private KafkaWireClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<KafkaWireClient> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await tcp.ConnectAsync(host, port, timeout.Token);
        return new KafkaWireClient(tcp);
    }

    /// <summary>
    /// Connects to the first reachable server of a <c>bootstrap.servers</c> list (plaintext only: this client has
    /// no TLS or SASL).
    /// </summary>
    public static async Task<KafkaWireClient> ConnectAnyAsync(string bootstrapServers, CancellationToken cancellationToken)
    {
        Exception? last = null;
        foreach (var server in bootstrapServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (host, port) = SplitHostPort(server);
            try
            {
                return await ConnectAsync(host, port, cancellationToken);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = e;
            }
        }
        throw new CommandException($"Could not connect to any of {bootstrapServers}: {last?.Message}");
    }

    /// <summary>
    /// Connects as the client properties say (a <c>--command-config</c> file): <c>bootstrap.servers</c>, then for
    /// <c>security.protocol=SASL_PLAINTEXT</c> authenticates with <c>sasl.mechanism</c> and the user name and password of
    /// <c>sasl.jaas.config</c>, as Kafka's clients do: SaslHandshake v1, then SaslAuthenticate v2 until the mechanism completes.
    /// </summary>
    public static async Task<KafkaWireClient> ConnectAnyAsync(IReadOnlyDictionary<string, string> properties, CancellationToken cancellationToken)
    {
        var protocol = properties.TryGetValue("security.protocol", out var p) ? p.ToUpperInvariant() : "PLAINTEXT";
        if (protocol is "SSL" or "SASL_SSL")
        {
            throw new CommandException($"security.protocol={protocol} is not supported by this tool yet (no TLS in its wire client)");
        }
        if (protocol is not ("PLAINTEXT" or "SASL_PLAINTEXT"))
        {
            throw new CommandException($"Invalid value {protocol} for configuration security.protocol");
        }
        var client = await ConnectAnyAsync(properties.GetValueOrDefault("bootstrap.servers") ?? throw new CommandException("Missing required argument \"[bootstrap-server]\""), cancellationToken);
        if (protocol == "SASL_PLAINTEXT")
        {
            try
            {
                await client.AuthenticateAsync(ClientProperties.SaslClient(properties), cancellationToken);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
        return client;
    }

    private async Task AuthenticateAsync(ISaslClient sasl, CancellationToken cancellationToken)
    {
        try
        {
            await SaslClientAuthenticator.AuthenticateAsync(sasl,
                handshake => SendAsync<SaslHandshakeResponse>(handshake, 1, cancellationToken),
                token => SendAsync<SaslAuthenticateResponse>(token, 2, cancellationToken));
        }
        catch (SaslAuthenticationException e)
        {
            throw new CommandException(e.Message);
        }
    }

    public static (string Host, int Port) SplitHostPort(string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        return colon > 0 && int.TryParse(hostPort[(colon + 1)..], out var port)
            ? (hostPort[..colon].Trim('[', ']'), port)
            : throw new CommandException($"Invalid url in bootstrap.servers: {hostPort}");
    }

    public async Task<TResponse> SendAsync<TResponse>(IApiMessage request, short version, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        var correlationId = ++_correlationId;
        await _stream.WriteAsync(RequestFrames.Build(request, version, correlationId, "samsa-cli"), cancellationToken);
        var lengthBytes = new byte[4];
        await _stream.ReadExactlyAsync(lengthBytes, cancellationToken);
        try
        {
            var body = new byte[RequestFrames.PayloadSize(lengthBytes)];
            await _stream.ReadExactlyAsync(body, cancellationToken);
            return RequestFrames.ReadResponse<TResponse>(body, request.ApiKey, version, correlationId);
        }
        catch (ProtocolException e)
        {
            throw new CommandException(e.Message);
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }
}
