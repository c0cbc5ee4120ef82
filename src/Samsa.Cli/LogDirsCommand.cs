using System.CommandLine;
using System.Text.Json;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa log-dirs</c> = <c>kafka-log-dirs.sh --describe</c> (Kafka 4.0's <c>LogDirsCommand</c>): asks every
/// broker (or those of <c>--broker-list</c>) for its log dirs with DescribeLogDirs and prints
/// <c>Querying brokers for log directories information</c>, <c>Received log directory information from brokers 1</c>
/// and one JSON line. The JSON is what Jackson writes for Kafka's <c>HashMap</c>s, so keys come in Java hash
/// order: <c>{"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"t-0","size":0,"offsetLag":0,
/// "isFuture":false}],"error":null,"logDir":"/dir"}]}],"version":1}</c>, partitions and dirs in
/// <see cref="JavaHashOrder"/>. <c>--topic-list</c> filters the printed partitions; topics are not sent to the broker.
/// Confluent's AdminClient has no DescribeLogDirs, so this speaks the protocol itself.
/// </summary>
internal sealed class LogDirsCommand
{
    private readonly ClientOptions _client = new();
    private readonly Option<bool> _describe = new("--describe") { Description = "Describe the specified log directories on the specified brokers." };
    private readonly Option<string> _topicList = new("--topic-list") { Description = "The list of topics to be queried in the form \"topic1,topic2,topic3\". All topics will be queried if no topic list is specified" };
    private readonly Option<string> _brokerList = new("--broker-list") { Description = "The list of brokers to be queried in the form \"0,1,2\". All brokers in the cluster will be queried if no broker list is specified" };

    public Command Build()
    {
        var command = new Command("log-dirs", "Query log directory usage on the specified brokers (kafka-log-dirs.sh).");
        _client.AddTo(command);
        command.Add(_describe);
        command.Add(_topicList);
        command.Add(_brokerList);
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r, CancellationToken cancellationToken)
    {
        var bootstrap = _client.Properties(r)["bootstrap.servers"];
        if (!r.GetValue(_describe))
        {
            throw new CommandException("Missing required argument \"[describe]\"");
        }
        var topics = SplitList(r.GetValue(_topicList)).ToHashSet(StringComparer.Ordinal);
        List<int> inputBrokers;
        try
        {
            inputBrokers = SplitList(r.GetValue(_brokerList)).Select(int.Parse).Distinct().ToList();
        }
        catch (FormatException e)
        {
            throw new CommandException(e.Message);
        }

        DescribeClusterResponse cluster;
        using (var client = await KafkaWireClient.ConnectAnyAsync(bootstrap, cancellationToken))
        {
            cluster = await client.SendAsync<DescribeClusterResponse>(new DescribeClusterRequest(), 0, cancellationToken);
        }
        var clusterBrokers = cluster.Brokers.Select(b => b.BrokerId).Order().ToList();
        var missing = inputBrokers.Except(clusterBrokers).Order().ToList();
        if (missing.Count > 0)
        {
            throw new CommandException($"ERROR: The given brokers do not exist from --broker-list: {string.Join(",", missing)}. Current existent brokers: {string.Join(",", clusterBrokers)}");
        }
        // A HashSet<Integer> of small ids iterates in ascending order.
        var queried = (inputBrokers.Count == 0 ? clusterBrokers : inputBrokers.Intersect(clusterBrokers)).Order().ToList();

        Console.WriteLine("Querying brokers for log directories information");
        var byBroker = new List<(int Broker, DescribeLogDirsResponse Response)>();
        foreach (var id in queried)
        {
            var broker = cluster.Brokers.First(b => b.BrokerId == id);
            using var client = await KafkaWireClient.ConnectAsync(broker.Host, broker.Port, cancellationToken);
            var response = await client.SendAsync<DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, 4, cancellationToken);
            if (response.ErrorCode != 0)
            {
                throw new CommandException(Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode) ?? $"Error {response.ErrorCode}");
            }
            byBroker.Add((id, response));
        }
        Console.WriteLine($"Received log directory information from brokers {string.Join(",", queried)}");
        Console.WriteLine(Json(byBroker, topics));
    }

    private static IEnumerable<string> SplitList(string? value) =>
        (value ?? "").Split(',').Where(x => x.Length > 0);

    /// <summary>Kafka's <c>formatAsJson</c>: key orders are those of Java HashMaps holding these keys.</summary>
    internal static string Json(IReadOnlyList<(int Broker, DescribeLogDirsResponse Response)> byBroker, IReadOnlySet<string> topics)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartArray("brokers");
            foreach (var (broker, response) in byBroker)
            {
                json.WriteStartObject();
                json.WriteNumber("broker", broker);
                json.WriteStartArray("logDirs");
                // The admin client keys log dirs by path in a HashMap sized to the number of dirs.
                foreach (var dir in JavaHashOrder.Order(response.Results, d => d.LogDir))
                {
                    json.WriteStartObject();
                    json.WriteStartArray("partitions");
                    var partitions = dir.Topics
                        .Where(t => topics.Count == 0 || topics.Contains(t.Name))
                        .SelectMany(t => t.Partitions.Select(p => (t.Name, Partition: p)))
                        .ToList();
                    foreach (var (topic, partition) in JavaHashOrder.OrderByTopicPartition(partitions, p => (p.Name, p.Partition.PartitionIndex)))
                    {
                        json.WriteStartObject();
                        json.WriteString("partition", $"{topic}-{partition.PartitionIndex}");
                        json.WriteNumber("size", partition.PartitionSize);
                        json.WriteNumber("offsetLag", partition.OffsetLag);
                        json.WriteBoolean("isFuture", partition.IsFutureKey);
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                    if (dir.ErrorCode == 0)
                    {
                        json.WriteNull("error");
                    }
                    else
                    {
                        json.WriteString("error", JavaExceptionClass((ErrorCode)dir.ErrorCode));
                    }
                    json.WriteString("logDir", dir.LogDir);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("version", 1);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The class of the exception Kafka's <c>Errors</c> maps a log dir's error to.</summary>
    private static string JavaExceptionClass(ErrorCode code) => code switch
    {
        ErrorCode.KafkaStorageError => "org.apache.kafka.common.errors.KafkaStorageException",
        ErrorCode.ClusterAuthorizationFailed => "org.apache.kafka.common.errors.ClusterAuthorizationException",
        _ => "org.apache.kafka.common.errors.UnknownServerException",
    };
}
