using System.CommandLine;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa broker-api-versions</c> = <c>kafka-broker-api-versions.sh</c>: for every broker in the cluster,
/// <c>host:port (id: 1 rack: null) -> (</c>, one line per API key this tool knows
/// (<c>	Name(key): min to max [usable: v]</c>, or <c>UNSUPPORTED</c>), and <c>)</c> (Kafka 3.9's
/// <c>NodeApiVersions.toString</c>). Confluent's AdminClient has no ApiVersions call, so this uses Samsa's own
/// protocol client.
/// </summary>
internal sealed class BrokerApiVersionsCommand
{
    private readonly ClientOptions _client = new();

    public Command Build()
    {
        var command = new Command("broker-api-versions", "Print the API versions every broker supports (kafka-broker-api-versions.sh).");
        _client.AddTo(command);
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r, CancellationToken cancellationToken)
    {
        var bootstrap = _client.Properties(r)["bootstrap.servers"].Split(',')[0].Trim();
        var (host, port) = KafkaWireClient.SplitHostPort(bootstrap);
        MetadataResponse metadata;
        using (var client = await KafkaWireClient.ConnectAsync(host, port, cancellationToken))
        {
            metadata = await client.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, 1, cancellationToken);
        }
        foreach (var broker in metadata.Brokers.OrderBy(b => b.NodeId))
        {
            using var client = await KafkaWireClient.ConnectAsync(broker.Host, broker.Port, cancellationToken);
            var versions = await client.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, cancellationToken);
            var byKey = versions.ApiKeys.ToDictionary(k => k.ApiKey);
            var lines = new List<string>();
            foreach (var key in ApiMessages.All.Where(k => RequestListeners(k)))
            {
                if (!byKey.TryGetValue((short)key, out var served))
                {
                    lines.Add($"{key}({(short)key}): UNSUPPORTED");
                    continue;
                }
                var range = served.MinVersion == served.MaxVersion ? $"{served.MaxVersion}" : $"{served.MinVersion} to {served.MaxVersion}";
                var usable = Math.Min(served.MaxVersion, ApiMessages.HighestVersion(key));
                var usableText = usable < served.MinVersion || usable < ApiMessages.LowestVersion(key) ? "[unusable: node too new]" : $"[usable: {usable}]";
                lines.Add($"{key}({(short)key}): {range} {usableText}");
            }
            Console.WriteLine($"{broker.Host}:{broker.Port} (id: {broker.NodeId} rack: {broker.Rack ?? "null"}) -> (\n\t{string.Join(",\n\t", lines)}\n)");
        }
    }

    /// <summary>Kafka's tool lists the APIs a client may send to a broker (<c>ApiKeys.clientApis</c>).</summary>
    private static bool RequestListeners(ApiKey key) =>
        ApiMessages.Listeners(key).Split(',', StringSplitOptions.TrimEntries).Contains("broker");
}
