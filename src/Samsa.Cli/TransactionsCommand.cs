using System.CommandLine;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa transactions</c> = <c>kafka-transactions.sh</c> (Kafka 4.x's <c>TransactionsCommand</c>): the sub-commands
/// <c>list</c>, <c>describe</c>, <c>describe-producers</c>, <c>abort</c>, <c>find-hanging</c> and
/// <c>force-terminate</c>, with Kafka's flags, its tab-separated padded tables (every column padded to its widest cell,
/// each followed by a tab), its error lines (<c>&lt;what failed&gt;: &lt;cause&gt;. Enable debug logging for additional
/// detail.</c> on stderr, exit 1) and argparse4j's usage errors. Confluent's AdminClient has none of these admin calls,
/// so <see cref="TransactionsAdmin"/> speaks the protocol: DescribeProducers to partition leaders, WriteTxnMarkers for
/// an abort, ListTransactions to every broker, FindCoordinator (transaction key) then DescribeTransactions or
/// InitProducerId (the fence behind force-terminate) to a transactional id's coordinator.
/// </summary>
internal sealed class TransactionsCommand
{
    private const string Prog = "kafka-transactions.sh";

    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Recursive = true, Description = "hostname and port for the broker to connect to, in the form `host:port`  (multiple comma-separated entries can be given)" };
    private readonly Option<string> _commandConfig = new("--command-config") { Recursive = true, Description = "property file containing configs to be passed to admin client" };

    public Command Build()
    {
        var command = new Command("transactions", "This tool is used to analyze the transactional state of producers in the cluster. It can be used to detect and recover from hanging transactions (kafka-transactions.sh).");
        command.Add(_bootstrap);
        command.Add(_commandConfig);
        command.SetAction(_ =>
        {
            Console.Error.WriteLine($"usage: {Prog} [-h] [-v] [--command-config FILE] --bootstrap-server host:port COMMAND ...");
            Console.Error.WriteLine($"{Prog}: error: too few arguments");
            return 1;
        });
        command.Add(List());
        command.Add(Describe());
        command.Add(DescribeProducers());
        command.Add(Abort());
        command.Add(FindHanging());
        command.Add(ForceTerminate());
        return command;
    }

    private static Option<string> Arg(string name, string help) => new(name) { Description = help };

    /// <summary>Runs a sub-command: argparse4j's checks (the sub-command's required arguments, then --bootstrap-server), then the body.</summary>
    private Command Sub(string name, string help, string usage, Option<string>[] options, Option<string>[] required, Func<ParseResult, TransactionsAdmin, CancellationToken, Task> body)
    {
        var command = new Command(name, help);
        foreach (var option in options)
        {
            command.Add(option);
        }
        command.SetAction(async (r, ct) =>
        {
            foreach (var option in required)
            {
                if (r.GetValue(option) is null)
                {
                    return UsageError($"usage: {Prog} {name} {usage}", $"{Prog} {name}", $"argument {option.Name} is required");
                }
            }
            foreach (var option in options)
            {
                if (r.GetValue(option) is { } value && TypeOf(option) is { } type && !Converts(value, type))
                {
                    return UsageError($"usage: {Prog} {name} {usage}", $"{Prog} {name}", $"argument {option.Name}: could not convert '{value}' to {type} (For input string: \"{value}\")");
                }
            }
            if (r.GetValue(_bootstrap) is not { } bootstrap)
            {
                return UsageError($"usage: {Prog} [-h] [-v] [--command-config FILE] --bootstrap-server host:port COMMAND ...", Prog, "argument --bootstrap-server is required");
            }
            return await CommandRunner.RunAsync(async () =>
            {
                if (r.GetValue(_commandConfig) is { } file && !File.Exists(file))
                {
                    throw Failed("Failed to load admin client properties", $"{file} (No such file or directory)");
                }
                using var admin = new TransactionsAdmin(bootstrap);
                await body(r, admin, ct);
            }, "", errorsToStdout: false);
        });
        return command;
    }

    private static int UsageError(string usage, string prog, string message)
    {
        Console.Error.WriteLine(usage);
        Console.Error.WriteLine($"{prog}: error: {message}");
        return 1;
    }

    // The argparse4j type of each numeric argument (Integer, Long or Short); strings need no conversion.
    private static readonly Dictionary<string, string> NumericTypes = new(StringComparer.Ordinal)
    {
        ["--partition"] = "Integer",
        ["--broker-id"] = "Integer",
        ["--max-transaction-timeout"] = "Integer",
        ["--coordinator-epoch"] = "Integer",
        ["--start-offset"] = "Long",
        ["--producer-id"] = "Long",
        ["--duration-filter"] = "Long",
        ["--producer-epoch"] = "Short",
    };

    private static string? TypeOf(Option<string> option) => NumericTypes.GetValueOrDefault(option.Name);

    private static bool Converts(string value, string type) => type switch
    {
        "Integer" => int.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, null, out _),
        "Short" => short.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, null, out _),
        _ => long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, null, out _),
    };

    private static int? Int(ParseResult r, Option<string> o) => r.GetValue(o) is { } v ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static long? Long(ParseResult r, Option<string> o) => r.GetValue(o) is { } v ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>Kafka's <c>printErrorAndExit(message, cause)</c>.</summary>
    private static CommandException Failed(string message, string cause) =>
        new($"{message}: {cause}. Enable debug logging for additional detail.");

    private Command List()
    {
        var durationFilter = Arg("--duration-filter", "Duration (in millis) to filter by: if < 0, all transactions will be returned; otherwise, only transactions running longer than this duration will be returned");
        return Sub("list", "list transactions", "[-h] [--duration-filter DURATION_FILTER]", [durationFilter], [], async (r, admin, ct) =>
        {
            IReadOnlyList<(int Broker, List<ListTransactionsResponse.TransactionStateData> Listings)> byBroker;
            try
            {
                byBroker = await admin.ListTransactionsAsync([], Long(r, durationFilter) ?? -1, ct);
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw Failed("Failed to list transactions", e.Message);
            }
            // allByBrokerId is a HashMap<Integer, ...>: small broker ids iterate in ascending order.
            var rows = byBroker.OrderBy(b => b.Broker)
                .SelectMany(b => b.Listings.Select(l => new[] { l.TransactionalId, b.Broker.ToString(System.Globalization.CultureInfo.InvariantCulture), l.ProducerId.ToString(System.Globalization.CultureInfo.InvariantCulture), l.TransactionState }))
                .ToList();
            ToolsUtils.PrintTable(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], rows);
        });
    }

    private Command Describe()
    {
        var transactionalId = Arg("--transactional-id", "transactional id");
        return Sub("describe", "describe the state of an active transactional-id", "[-h] --transactional-id TRANSACTIONAL_ID", [transactionalId], [transactionalId], async (r, admin, ct) =>
        {
            var id = r.GetValue(transactionalId)!;
            TransactionsAdmin.TransactionDescription description;
            try
            {
                description = await admin.DescribeTransactionAsync(id, ct);
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw Failed($"Failed to describe transaction state of transactional-id `{id}`", e.Message);
            }
            var state = description.State;
            var started = state.TransactionStartTimeMs >= 0;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            ToolsUtils.PrintTable(
                ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"],
                [[
                    Str(description.CoordinatorId), id, Str(state.ProducerId), Str(state.ProducerEpoch), state.TransactionState, Str(state.TransactionTimeoutMs),
                    started ? Str(state.TransactionStartTimeMs) : "None",
                    started ? Str(now - state.TransactionStartTimeMs) : "None",
                    string.Join(",", TransactionsAdmin.PartitionsInHashOrder(state).Select(p => $"{p.Topic}-{p.Partition}")),
                ]]);
        });
    }

    private Command DescribeProducers()
    {
        var brokerId = Arg("--broker-id", "optional broker id to describe the producer state on a specific replica");
        var topic = Arg("--topic", "topic name");
        var partition = Arg("--partition", "partition number");
        return Sub("describe-producers", "describe the states of active producers for a topic partition", "[-h] [--broker-id BROKER_ID] --topic TOPIC --partition PARTITION",
            [brokerId, topic, partition], [topic, partition], async (r, admin, ct) =>
        {
            var tp = (r.GetValue(topic)!, Int(r, partition)!.Value);
            var broker = Int(r, brokerId);
            List<DescribeProducersResponse.ProducerState> producers;
            try
            {
                producers = (await admin.DescribeProducersAsync([tp], broker, ct))[tp];
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw Failed($"Failed to describe producers for partition {tp.Item1}-{tp.Item2} on {(broker is { } b ? $"broker {b}" : "leader")}", e.Message);
            }
            ToolsUtils.PrintTable(
                ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"],
                producers.Select(p => new[]
                {
                    Str(p.ProducerId), Str(p.ProducerEpoch), Str(p.CoordinatorEpoch), Str(p.LastSequence), Str(p.LastTimestamp),
                    p.CurrentTxnStartOffset >= 0 ? Str(p.CurrentTxnStartOffset) : "None",
                }).ToList());
        });
    }

    private Command Abort()
    {
        var topic = Arg("--topic", "topic name");
        var partition = Arg("--partition", "partition number");
        var startOffset = Arg("--start-offset", "start offset of the transaction to abort");
        var producerId = Arg("--producer-id", "producer id");
        var producerEpoch = Arg("--producer-epoch", "producer epoch");
        var coordinatorEpoch = Arg("--coordinator-epoch", "coordinator epoch");
        return Sub("abort", "abort a hanging transaction (requires administrative privileges)",
            "[-h] --topic TOPIC --partition PARTITION [--start-offset START_OFFSET] [--producer-id PRODUCER_ID] [--producer-epoch PRODUCER_EPOCH] [--coordinator-epoch COORDINATOR_EPOCH]",
            [topic, partition, startOffset, producerId, producerEpoch, coordinatorEpoch], [topic, partition], async (r, admin, ct) =>
        {
            var tp = (r.GetValue(topic)!, Int(r, partition)!.Value);
            var start = Long(r, startOffset);
            var pid = Long(r, producerId);
            if (start is null && pid is null)
            {
                throw new CommandException("The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)");
            }
            TransactionsAdmin.AbortSpec spec;
            if (start is null)
            {
                if (Int(r, producerEpoch) is not { } epoch)
                {
                    throw new CommandException("Missing required argument --producer-epoch");
                }
                if (Int(r, coordinatorEpoch) is not { } coordinator)
                {
                    throw new CommandException("Missing required argument --coordinator-epoch");
                }
                // A transaction left hanging before its first marker shows coordinator epoch -1; 0 is no greater than any.
                spec = new(tp.Item1, tp.Item2, pid!.Value, (short)epoch, Math.Max(coordinator, 0));
            }
            else
            {
                List<DescribeProducersResponse.ProducerState> producers;
                try
                {
                    producers = (await admin.DescribeProducersAsync([tp], null, ct))[tp];
                }
                catch (TransactionsAdmin.AdminException e)
                {
                    throw Failed($"Failed to validate producer state for partition {tp.Item1}-{tp.Item2}", e.Message);
                }
                var found = producers.FirstOrDefault(p => p.CurrentTxnStartOffset >= 0 && p.CurrentTxnStartOffset == start);
                if (found is null)
                {
                    throw new CommandException($"Could not find any open transactions starting at offset {start} on partition {tp.Item1}-{tp.Item2}");
                }
                spec = new(tp.Item1, tp.Item2, found.ProducerId, (short)found.ProducerEpoch, found.CoordinatorEpoch < 0 ? 0 : found.CoordinatorEpoch);
            }
            try
            {
                await admin.AbortTransactionAsync(spec, ct);
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw Failed($"Failed to abort transaction {spec}", e.Message);
            }
        });
    }

    private Command ForceTerminate()
    {
        var transactionalId = Arg("--transactional-id", "transactional id");
        return Sub("force-terminate", "Force abort an ongoing transaction on transactionalId", "[-h] --transactional-id TRANSACTIONAL_ID", [transactionalId], [transactionalId], async (r, admin, ct) =>
        {
            var id = r.GetValue(transactionalId)!;
            try
            {
                await admin.FenceProducerAsync(id, ct);
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw Failed($"Failed to force terminate transactionalId `{id}`", e.Message);
            }
        });
    }

    private Command FindHanging()
    {
        var brokerId = Arg("--broker-id", "broker id to search for hanging transactions");
        var maxTimeout = Arg("--max-transaction-timeout", "maximum transaction timeout in minutes to limit the scope of the search (15 minutes by default)");
        var topic = Arg("--topic", "topic name to limit search to (required if --partition is specified)");
        var partition = Arg("--partition", "partition number");
        return Sub("find-hanging", "find hanging transactions", "[-h] [--broker-id BROKER_ID] [--max-transaction-timeout MAX_TRANSACTION_TIMEOUT] [--topic TOPIC] [--partition PARTITION]",
            [brokerId, maxTimeout, topic, partition], [], async (r, admin, ct) =>
        {
            var broker = Int(r, brokerId);
            var topicName = r.GetValue(topic);
            if (topicName is null && broker is null)
            {
                throw new CommandException("The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search");
            }
            var partitionIndex = Int(r, partition);
            if (partitionIndex is not null && topicName is null)
            {
                throw new CommandException("The --partition argument requires --topic to be provided");
            }
            var maxTransactionTimeoutMs = (Int(r, maxTimeout) ?? 15) * 60_000L;
            var hanging = await FindHangingAsync(admin, topicName, partitionIndex, broker, maxTransactionTimeoutMs, ct);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            ToolsUtils.PrintTable(
                ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"],
                hanging.Select(h => new[]
                {
                    h.Topic, Str(h.Partition), Str(h.State.ProducerId), Str(h.State.ProducerEpoch), Str(h.State.CoordinatorEpoch),
                    Str(h.State.CurrentTxnStartOffset), Str(h.State.LastTimestamp), Str((now - h.State.LastTimestamp) / 60_000),
                }).ToList());
        });
    }

    private sealed record OpenTransaction(string Topic, int Partition, DescribeProducersResponse.ProducerState State);

    /// <summary>
    /// Kafka's <c>FindHangingTransactionsCommand</c>: the partitions to search (one, a topic's, or every topic's with a
    /// replica on the broker), their open transactions older than the maximum timeout, and of those the ones whose
    /// producer's transactional id the coordinators do not know, or whose ongoing transaction does not include the
    /// partition: no coordinator will ever write their marker.
    /// </summary>
    private static async Task<List<OpenTransaction>> FindHangingAsync(TransactionsAdmin admin, string? topic, int? partition, int? brokerId, long maxTransactionTimeoutMs, CancellationToken ct)
    {
        List<(string Topic, int Partition)> partitions;
        if (topic is not null && partition is not null)
        {
            partitions = [(topic, partition.Value)];
        }
        else
        {
            MetadataResponse metadata;
            try
            {
                metadata = await admin.MetadataAsync(topic is null ? null : [topic], ct);
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw topic is null ? Failed("Failed to list topics", e.Message) : Failed("Failed to describe 1 topics", e.Message);
            }
            if (metadata.Topics.FirstOrDefault(t => t.ErrorCode != 0) is { } bad)
            {
                var count = topic is null ? metadata.Topics.Count : 1;
                throw Failed($"Failed to describe {count} topics", TransactionsAdmin.Message((ErrorCode)bad.ErrorCode, null));
            }
            partitions = metadata.Topics
                .SelectMany(t => t.Partitions.Where(p => brokerId is null || p.ReplicaNodes.Contains(brokerId.Value)).Select(p => (t.Name!, p.PartitionIndex)))
                .ToList();
        }

        var candidates = new List<OpenTransaction>();
        foreach (var batch in partitions.Chunk(500))
        {
            Dictionary<(string, int), List<DescribeProducersResponse.ProducerState>> states;
            try
            {
                states = await admin.DescribeProducersAsync(batch, brokerId, ct);
            }
            catch (TransactionsAdmin.AdminException e)
            {
                throw Failed($"Failed to describe producers for {batch.Length} partitions on broker {(brokerId is { } b ? $"Optional[{b}]" : "Optional.empty")}", e.Message);
            }
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            // The admin client answers a HashMap<TopicPartition, ...>.
            foreach (var (key, producers) in JavaHashOrder.OrderByTopicPartition(states.ToList(), s => s.Key))
            {
                candidates.AddRange(producers
                    .Where(p => p.CurrentTxnStartOffset >= 0 && now - p.LastTimestamp > maxTransactionTimeoutMs)
                    .Select(p => new OpenTransaction(key.Item1, key.Item2, p)));
            }
        }
        if (candidates.Count == 0)
        {
            return [];
        }

        var byProducer = JavaHashOrder.OrderByLong(candidates.GroupBy(c => c.State.ProducerId).ToList(), g => g.Key).ToList();
        var producerIds = byProducer.Select(g => g.Key).ToList();
        var transactionalIds = new Dictionary<long, string>();
        try
        {
            foreach (var (_, listings) in await admin.ListTransactionsAsync(producerIds, -1, ct))
            {
                foreach (var listing in listings.Where(l => producerIds.Contains(l.ProducerId)))
                {
                    transactionalIds[listing.ProducerId] = listing.TransactionalId;
                }
            }
        }
        catch (TransactionsAdmin.AdminException e)
        {
            throw Failed($"Failed to list transactions for {producerIds.Count} producers", e.Message);
        }

        var descriptions = new Dictionary<string, DescribeTransactionsResponse.TransactionStateData?>(StringComparer.Ordinal);
        try
        {
            foreach (var id in transactionalIds.Values.Distinct())
            {
                try
                {
                    descriptions[id] = (await admin.DescribeTransactionAsync(id, ct)).State;
                }
                catch (TransactionsAdmin.AdminException e) when (e.Code == ErrorCode.TransactionalIdNotFound)
                {
                    descriptions[id] = null;
                }
            }
        }
        catch (TransactionsAdmin.AdminException e)
        {
            throw Failed($"Failed to describe {transactionalIds.Count} transactions", e.Message);
        }

        var hanging = new List<OpenTransaction>();
        foreach (var group in byProducer)
        {
            if (!transactionalIds.TryGetValue(group.Key, out var id) || descriptions.GetValueOrDefault(id) is not { } description)
            {
                hanging.AddRange(group);
                continue;
            }
            // The coordinator lists every partition of an ongoing transaction, and those still owed a marker while it
            // prepares to commit or abort: a partition among them will get its marker.
            var pending = description.Topics.SelectMany(t => t.Partitions.Select(p => (t.Topic, p))).ToHashSet();
            hanging.AddRange(group.Where(o => !pending.Contains((o.Topic, o.Partition))));
        }
        return hanging;
    }

    private static string Str(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
