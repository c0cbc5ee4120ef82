using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa reassign-partitions</c> = <c>kafka-reassign-partitions.sh</c> (Kafka 4.x's <c>ReassignPartitionsCommand</c>)
/// over the wire: <c>--generate</c> (current and proposed assignments for whole topics onto a broker list),
/// <c>--execute</c> (AlterPartitionReassignments from a reassignment JSON file, after printing the current assignment
/// to roll back to), <c>--verify</c> (ListPartitionReassignments and Metadata: completed or still in progress),
/// <c>--cancel</c> and <c>--list</c>, with Kafka's JSON formats and output lines. Requests go to the bootstrap broker,
/// which forwards them to the active controller.
/// </summary>
/// <remarks>
/// <c>--throttle</c> is accepted and sets the topic-level throttled-replica configs as Kafka does, but Samsa does not
/// enforce replication throttles (docs/UNSUPPORTED.md). Log-directory moves (<c>log_dirs</c> other than <c>any</c>)
/// are refused: every Samsa broker has its partitions in its log dirs by its own choice.
/// </remarks>
internal sealed class ReassignPartitionsCommand
{
    private const string AnyLogDir = "any";

    private readonly Option<string> _bootstrapServer = new("--bootstrap-server") { Description = "REQUIRED: the server(s) to use for bootstrapping." };
    private readonly Option<string> _bootstrapController = new("--bootstrap-controller") { Description = "the controller to use for reassignment. By default, the tool will get the quorum controller. This option supports the actions --cancel and --list." };
    private readonly Option<string> _commandConfig = new("--command-config", "--admin.config") { Description = "Property file containing configs to be passed to Admin Client." };
    private readonly Option<bool> _generate = new("--generate") { Description = "Generate a candidate partition reassignment configuration. Note that this only generates a candidate assignment, it does not execute it." };
    private readonly Option<bool> _execute = new("--execute") { Description = "Kick off the reassignment as specified by the --reassignment-json-file option." };
    private readonly Option<bool> _verify = new("--verify") { Description = "Verify if the reassignment completed as specified by the --reassignment-json-file option. If there is a throttle engaged for the replicas specified, and the rebalance has completed, the throttle will be removed" };
    private readonly Option<bool> _cancel = new("--cancel") { Description = "Cancel an active reassignment." };
    private readonly Option<bool> _list = new("--list") { Description = "List all active partition reassignments." };
    private readonly Option<string> _reassignmentJsonFile = new("--reassignment-json-file") { Description = "The JSON file with the partition reassignment configuration. This option is required for --execute, --verify and --cancel." };
    private readonly Option<string> _topicsToMoveJsonFile = new("--topics-to-move-json-file") { Description = "Generate a reassignment configuration to move the partitions of the specified topics to the list of brokers specified by the --broker-list option. The format to use is - \n{\"topics\":\n\t[{\"topic\": \"foo\"},{\"topic\": \"foo1\"}],\n\"version\":1\n}" };
    private readonly Option<string> _brokerList = new("--broker-list") { Description = "The list of brokers to which the partitions need to be reassigned in the form \"0,1,2\". This is required if --topics-to-move-json-file is used to generate reassignment configuration" };
    private readonly Option<bool> _disableRackAware = new("--disable-rack-aware") { Description = "Disable rack aware replica assignment" };
    private readonly Option<long?> _throttle = new("--throttle") { Description = "The movement of partitions between brokers will be throttled to this value (bytes/sec). This option can be included with --execute when a reassignment is started, and it can be altered by resubmitting the current reassignment along with the --additional flag. The throttle rate should be at least 1 KB/s. (Not enforced by Samsa.)" };
    private readonly Option<long?> _replicaAlterLogDirsThrottle = new("--replica-alter-log-dirs-throttle") { Description = "The movement of replicas between log directories on the same broker will be throttled to this value (bytes/sec). (Not enforced by Samsa.)" };
    private readonly Option<long?> _timeout = new("--timeout") { Description = "The maximum time in ms to wait for log directory replica assignment to begin." };
    private readonly Option<bool> _additional = new("--additional") { Description = "Execute this reassignment in addition to any other ongoing ones. This option can also be used to change the throttle of an ongoing reassignment." };
    private readonly Option<bool> _preserveThrottles = new("--preserve-throttles") { Description = "Do not modify broker or topic throttles." };

    public Command Build()
    {
        var command = new Command("reassign-partitions", "This tool helps to move topic partitions between replicas.");
        foreach (var option in new Option[]
        {
            _bootstrapServer, _bootstrapController, _commandConfig, _generate, _execute, _verify, _cancel, _list, _reassignmentJsonFile,
            _topicsToMoveJsonFile, _brokerList, _disableRackAware, _throttle, _replicaAlterLogDirsThrottle, _timeout, _additional, _preserveThrottles,
        })
        {
            command.Add(option);
        }
        command.SetAction(async (result, ct) =>
        {
            try
            {
                await RunAsync(result, ct);
                return 0;
            }
            catch (UsageException e)
            {
                // joptsimple's printUsageAndExit: the message on stderr.
                Console.Error.WriteLine(e.Message);
                return 1;
            }
            catch (CommandException e)
            {
                // Kafka's TerseException: the message alone, on stdout.
                Console.WriteLine(e.Message);
                return 1;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Console.WriteLine("Error: " + e.Message);
                return 1;
            }
        });
        return command;
    }

    private sealed class UsageException(string message) : Exception(message);

    private async Task RunAsync(ParseResult r, CancellationToken cancellationToken)
    {
        var action = Validate(r);
        if (r.GetValue(_commandConfig) is { } file)
        {
            // Read for its errors only: this client speaks plaintext without SASL, as the other wire-client tools.
            _ = ClientOptions.ReadFile(file);
        }
        var bootstrap = r.GetValue(_bootstrapServer) ?? r.GetValue(_bootstrapController)!;
        using var client = await KafkaWireClient.ConnectAnyAsync(bootstrap, cancellationToken);
        var tool = new Tool(client, cancellationToken);
        switch (action)
        {
            case "verify":
                await tool.VerifyAsync(File.ReadAllText(r.GetValue(_reassignmentJsonFile)!), r.GetValue(_preserveThrottles));
                break;
            case "generate":
                await tool.GenerateAsync(File.ReadAllText(r.GetValue(_topicsToMoveJsonFile)!), r.GetValue(_brokerList)!);
                break;
            case "execute":
                await tool.ExecuteAsync(r.GetValue(_additional), File.ReadAllText(r.GetValue(_reassignmentJsonFile)!), r.GetValue(_throttle) ?? -1,
                    r.GetValue(_replicaAlterLogDirsThrottle) ?? -1);
                break;
            case "cancel":
                await tool.CancelAsync(File.ReadAllText(r.GetValue(_reassignmentJsonFile)!), r.GetValue(_preserveThrottles));
                break;
            default:
                Console.WriteLine(await tool.CurrentReassignmentsAsync());
                break;
        }
    }

    /// <summary>Kafka's <c>validateAndParseArgs</c>: exactly one action, its required options, and only its permitted ones.</summary>
    private string Validate(ParseResult r)
    {
        var actions = new (string Name, Option<bool> Option)[] { ("generate", _generate), ("execute", _execute), ("verify", _verify), ("cancel", _cancel), ("list", _list) };
        var chosen = actions.Where(a => r.GetValue(a.Option)).ToList();
        if (chosen.Count != 1)
        {
            throw new UsageException("Command must include exactly one action: --generate, --execute, --verify, --cancel, --list");
        }
        var action = chosen[0].Name;
        var hasServer = r.GetValue(_bootstrapServer) is not null;
        var hasController = r.GetValue(_bootstrapController) is not null;
        if (hasServer && hasController)
        {
            throw new UsageException("Please don't specify both --bootstrap-server and --bootstrap-controller");
        }
        if (!hasServer && !hasController)
        {
            throw new UsageException("Please specify either --bootstrap-server or --bootstrap-controller");
        }
        Option[] required = action switch
        {
            "generate" => [_topicsToMoveJsonFile, _brokerList],
            "list" => [],
            _ => [_reassignmentJsonFile],
        };
        var missing = required.Where(o => r.GetResult(o) is null).Select(o => o.Name.TrimStart('-')).ToList();
        if (missing.Count > 0)
        {
            throw new UsageException("Missing required argument \"[" + string.Join(", ", missing) + "]\"");
        }
        Option server = hasServer ? _bootstrapServer : _bootstrapController;
        Option[] permitted = action switch
        {
            "verify" => [_bootstrapServer, _commandConfig, _preserveThrottles],
            "generate" => [_bootstrapServer, _brokerList, _commandConfig, _disableRackAware],
            "execute" => [_additional, _bootstrapServer, _commandConfig, _throttle, _replicaAlterLogDirsThrottle, _timeout],
            "cancel" => [server, _commandConfig, _preserveThrottles, _timeout],
            _ => [server, _commandConfig],
        };
        var actionOption = chosen[0].Option;
        foreach (var option in new Option[]
        {
            _bootstrapServer, _bootstrapController, _commandConfig, _generate, _execute, _verify, _cancel, _list, _reassignmentJsonFile,
            _topicsToMoveJsonFile, _brokerList, _disableRackAware, _throttle, _replicaAlterLogDirsThrottle, _timeout, _additional, _preserveThrottles,
        })
        {
            if (r.GetResult(option) is { Implicit: false } && option != actionOption && !required.Contains(option) && !permitted.Contains(option))
            {
                throw new UsageException($"Option \"[{option.Name.TrimStart('-')}]\" can't be used with action \"[{action}]\"");
            }
        }
        return action;
    }

    /// <summary>The tool's operations on one connection.</summary>
    private sealed class Tool(KafkaWireClient client, CancellationToken cancellationToken)
    {
        private const string CannotExecuteBecauseOfExisting = "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.";

        public async Task VerifyAsync(string json, bool preserveThrottles)
        {
            var (targets, _) = ParseReassignment(json);
            var ongoing = await ListAsync(null);
            var describe = await MetadataAsync(targets.Select(t => t.Topic).Distinct().ToList());
            var states = new Dictionary<(string Topic, int Partition), (List<int> Current, List<int> Target, bool Done)>();
            foreach (var (topic, partition, replicas) in targets)
            {
                if (ongoing.TryGetValue((topic, partition), out var reassignment))
                {
                    states[(topic, partition)] = (reassignment.Replicas, replicas, false);
                }
                else
                {
                    states[(topic, partition)] = (CurrentReplicas(describe, topic, partition) ?? [], replicas, true);
                }
            }
            var lines = new List<string> { "Status of partition reassignment:" };
            foreach (var ((topic, partition), state) in states.OrderBy(s => s.Key.Topic, StringComparer.Ordinal).ThenBy(s => s.Key.Partition))
            {
                if (!state.Done)
                {
                    lines.Add($"Reassignment of partition {topic}-{partition} is still in progress.");
                }
                else if (state.Current.SequenceEqual(state.Target))
                {
                    lines.Add($"Reassignment of partition {topic}-{partition} is completed.");
                }
                else
                {
                    lines.Add($"There is no active reassignment of partition {topic}-{partition}, but replica set is {string.Join(",", state.Current)} rather than {string.Join(",", state.Target)}.");
                }
            }
            Console.WriteLine(string.Join(Environment.NewLine, lines));
            // The replica log-dir moves: none, since every target log dir is "any".
            Console.WriteLine();
            if (ongoing.Count == 0 && !preserveThrottles)
            {
                await ClearAllThrottlesAsync(targets, describe);
            }
        }

        public async Task GenerateAsync(string topicsJson, string brokerListText)
        {
            List<int> brokers;
            try
            {
                brokers = [.. brokerListText.Split(',').Select(s => int.Parse(s.Trim(), System.Globalization.CultureInfo.InvariantCulture))];
            }
            catch (FormatException e)
            {
                throw new CommandException(e.Message);
            }
            var duplicateBrokers = brokers.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (duplicateBrokers.Count > 0)
            {
                throw Failed($"Broker list contains duplicate entries: [{string.Join(", ", duplicateBrokers)}]");
            }
            var topics = ParseTopics(topicsJson);
            var duplicateTopics = topics.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (duplicateTopics.Count > 0)
            {
                throw Failed($"List of topics to reassign contains duplicate entries: [{string.Join(", ", duplicateTopics)}]");
            }
            var metadata = await MetadataAsync(topics.Distinct().ToList());
            var current = new Dictionary<(string Topic, int Partition), List<int>>();
            foreach (var topic in metadata.Topics)
            {
                if (topic.ErrorCode == (short)ErrorCode.UnknownTopicOrPartition)
                {
                    throw new CommandException($"Topic {topic.Name} not found.");
                }
                foreach (var p in topic.Partitions)
                {
                    current[(topic.Name!, p.PartitionIndex)] = [.. p.ReplicaNodes];
                }
            }
            var live = metadata.Brokers.Select(b => b.NodeId).ToHashSet();
            List<int> targetBrokers = [.. brokers.Where(live.Contains)];
            var proposed = new Dictionary<(string Topic, int Partition), List<int>>();
            foreach (var group in current.GroupBy(c => c.Key.Topic))
            {
                var partitionCount = group.Count();
                var replicationFactor = group.OrderBy(g => g.Key.Partition).First().Value.Count;
                foreach (var (partition, replicas) in AssignReplicasToBrokers(targetBrokers, partitionCount, replicationFactor))
                {
                    proposed[(group.Key, partition)] = replicas;
                }
            }
            Console.Write($"Current partition replica assignment{Environment.NewLine}{FormatJson(current)}{Environment.NewLine}{Environment.NewLine}");
            Console.Write($"Proposed partition reassignment configuration{Environment.NewLine}{FormatJson(proposed)}{Environment.NewLine}");
        }

        public async Task ExecuteAsync(bool additional, string json, long interBrokerThrottle, long logDirThrottle)
        {
            var (targets, logDirs) = ParseReassignment(json);
            if (targets.Count == 0)
            {
                throw Failed("Partition reassignment list cannot be empty");
            }
            if (targets.Any(t => t.Replicas.Count == 0))
            {
                throw Failed("Partition replica list cannot be empty");
            }
            var duplicates = targets.GroupBy(t => (t.Topic, t.Partition)).Where(g => g.Count() > 1).Select(g => $"{g.Key.Topic}-{g.Key.Partition}").ToList();
            if (duplicates.Count > 0)
            {
                throw Failed($"Partition reassignment contains duplicate topic partitions: {string.Join(",", duplicates)}");
            }
            var duplicateReplicas = targets
                .Select(t => (t.Topic, t.Partition, Duplicates: t.Replicas.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => g.Key).ToList()))
                .Where(t => t.Duplicates.Count > 0)
                .Select(t => $"{t.Topic}-{t.Partition} contains multiple entries for {string.Join(",", t.Duplicates)}")
                .ToList();
            if (duplicateReplicas.Count > 0)
            {
                throw Failed($"Partition replica lists may not contain duplicate entries: {string.Join(". ", duplicateReplicas)}");
            }
            if (logDirs.Count > 0)
            {
                throw Failed("Moving replicas between log directories (log_dirs other than \"any\") is not supported by Samsa.");
            }
            var ongoing = await ListAsync(null);
            if (!additional && ongoing.Count > 0)
            {
                throw new CommandException(CannotExecuteBecauseOfExisting);
            }
            var metadata = await MetadataAsync(targets.Select(t => t.Topic).Distinct().ToList());
            var liveBrokers = metadata.Brokers.Select(b => b.NodeId).ToHashSet();
            if (targets.SelectMany(t => t.Replicas).FirstOrDefault(b => !liveBrokers.Contains(b), int.MinValue) is var unknown and not int.MinValue)
            {
                throw Failed($"Unknown broker id {unknown}");
            }
            var current = new Dictionary<(string Topic, int Partition), List<int>>();
            foreach (var (topic, partition, _) in targets)
            {
                if (CurrentReplicas(metadata, topic, partition) is { } replicas)
                {
                    current[(topic, partition)] = replicas;
                }
            }
            var missing = targets.Where(t => !current.ContainsKey((t.Topic, t.Partition))).Select(t => $"{t.Topic}-{t.Partition}").ToList();
            if (missing.Count > 0)
            {
                throw new CommandException($"Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Unable to find partition: {string.Join(", ", missing)}");
            }
            Console.WriteLine($"Current partition replica assignment{Environment.NewLine}{Environment.NewLine}{FormatJson(current)}{Environment.NewLine}{Environment.NewLine}Save this to use as the --reassignment-json-file option during rollback");
            if (interBrokerThrottle >= 0 || logDirThrottle >= 0)
            {
                Console.WriteLine("Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.");
                if (interBrokerThrottle >= 0)
                {
                    await SetTopicThrottlesAsync(targets, current, ongoing);
                    Console.WriteLine($"The inter-broker throttle limit was set to {interBrokerThrottle} B/s");
                }
                if (logDirThrottle >= 0)
                {
                    Console.WriteLine($"The replica-alter-dir throttle limit was set to {logDirThrottle} B/s");
                }
            }
            var errors = await AlterAsync(targets.Select(t => (t.Topic, t.Partition, (List<int>?)t.Replicas)).ToList());
            if (errors.Count > 0)
            {
                throw new CommandException($"Error reassigning partition(s):{Environment.NewLine}"
                    + string.Join(Environment.NewLine, errors.OrderBy(e => e.Topic, StringComparer.Ordinal).ThenBy(e => e.Partition).Select(e => $"{e.Topic}-{e.Partition}: {e.Message}")));
            }
            var names = targets.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition).Select(t => $"{t.Topic}-{t.Partition}");
            Console.WriteLine($"Successfully started partition reassignment{(targets.Count == 1 ? "" : "s")} for {string.Join(",", names)}");
        }

        public async Task CancelAsync(string json, bool preserveThrottles)
        {
            var (targets, _) = ParseReassignment(json);
            var ongoing = await ListAsync(targets.Select(t => (t.Topic, t.Partition)).Distinct().ToList());
            // Kafka's rule: a reassignment that only adds replicas is left alone.
            var cancelling = ongoing.Where(o => o.Value.Adding.Count == 0 || o.Value.Removing.Count > 0).Select(o => o.Key)
                .OrderBy(k => k.Topic, StringComparer.Ordinal).ThenBy(k => k.Partition).ToList();
            if (cancelling.Count > 0)
            {
                var errors = await AlterAsync(cancelling.Select(c => (c.Topic, c.Partition, (List<int>?)null)).ToList());
                if (errors.Count > 0)
                {
                    throw new CommandException($"Error cancelling partition reassignment{(errors.Count == 1 ? "" : "s")} for:{Environment.NewLine}"
                        + string.Join(Environment.NewLine, errors.OrderBy(e => e.Topic, StringComparer.Ordinal).ThenBy(e => e.Partition).Select(e => $"{e.Topic}-{e.Partition}: {e.Message}")));
                }
                Console.WriteLine($"Successfully cancelled partition reassignment{(cancelling.Count == 1 ? "" : "s")} for: {string.Join(",", cancelling.Select(c => $"{c.Topic}-{c.Partition}"))}");
            }
            else
            {
                Console.WriteLine("None of the specified partition reassignments are active.");
            }
            // Kafka prints this one without a line end.
            Console.Write("None of the specified partition moves are active.");
            if (!preserveThrottles)
            {
                await ClearAllThrottlesAsync(targets, await MetadataAsync([]));
            }
        }

        public async Task<string> CurrentReassignmentsAsync()
        {
            var ongoing = await ListAsync(null);
            var lines = ongoing.OrderBy(o => o.Key.Topic, StringComparer.Ordinal).ThenBy(o => o.Key.Partition).Select(o =>
                $"{o.Key.Topic}-{o.Key.Partition}: replicas: {string.Join(",", o.Value.Replicas)}."
                + (o.Value.Adding.Count == 0 ? "" : $" adding: {string.Join(",", o.Value.Adding)}.")
                + (o.Value.Removing.Count == 0 ? "" : $" removing: {string.Join(",", o.Value.Removing)}."))
                .ToList();
            return lines.Count == 0 ? "No partition reassignments found." : $"Current partition reassignments:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}";
        }

        private async Task<Dictionary<(string Topic, int Partition), (List<int> Replicas, List<int> Adding, List<int> Removing)>> ListAsync(List<(string Topic, int Partition)>? partitions)
        {
            var request = new ListPartitionReassignmentsRequest
            {
                TimeoutMs = 30_000,
                Topics = partitions?.GroupBy(p => p.Topic).Select(g => new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics
                {
                    Name = g.Key,
                    PartitionIndexes = [.. g.Select(p => p.Partition)],
                }).ToList(),
            };
            var response = await client.SendAsync<ListPartitionReassignmentsResponse>(request, 0, cancellationToken);
            if (response.ErrorCode != 0)
            {
                throw new CommandException($"Error: {JavaException((ErrorCode)response.ErrorCode)}: {response.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode)}");
            }
            return response.Topics
                .SelectMany(t => t.Partitions.Select(p => (Key: (t.Name, p.PartitionIndex), Value: (p.Replicas, p.AddingReplicas, p.RemovingReplicas))))
                .ToDictionary(e => e.Key, e => e.Value);
        }

        private async Task<List<(string Topic, int Partition, string? Message)>> AlterAsync(List<(string Topic, int Partition, List<int>? Replicas)> partitions)
        {
            var request = new AlterPartitionReassignmentsRequest
            {
                TimeoutMs = 30_000,
                Topics = [.. partitions.GroupBy(p => p.Topic).Select(g => new AlterPartitionReassignmentsRequest.ReassignableTopic
                {
                    Name = g.Key,
                    Partitions = [.. g.Select(p => new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = p.Partition, Replicas = p.Replicas })],
                })],
            };
            var response = await client.SendAsync<AlterPartitionReassignmentsResponse>(request, 0, cancellationToken);
            if (response.ErrorCode != 0)
            {
                var error = (ErrorCode)response.ErrorCode;
                var message = response.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage(error);
                return [.. partitions.Select(p => (p.Topic, p.Partition, message))];
            }
            return [.. response.Responses.SelectMany(t => t.Partitions
                .Where(p => p.ErrorCode != 0)
                .Select(p => (t.Name, p.PartitionIndex, p.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage((ErrorCode)p.ErrorCode))))];
        }

        private Task<MetadataResponse> MetadataAsync(List<string> topics) =>
            client.SendAsync<MetadataResponse>(new MetadataRequest
            {
                Topics = [.. topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t })],
                AllowAutoTopicCreation = false,
            }, 9, cancellationToken);

        private static List<int>? CurrentReplicas(MetadataResponse metadata, string topic, int partition) =>
            metadata.Topics.FirstOrDefault(t => t.Name == topic && t.ErrorCode == 0)?.Partitions.FirstOrDefault(p => p.PartitionIndex == partition)?.ReplicaNodes is { } replicas
                ? [.. replicas]
                : null;

        /// <summary>Kafka's topic-level throttles for a move: sources lead-throttled, destinations follow-throttled (accepted, not enforced).</summary>
        private async Task SetTopicThrottlesAsync(List<(string Topic, int Partition, List<int> Replicas)> targets,
            Dictionary<(string Topic, int Partition), List<int>> current,
            Dictionary<(string Topic, int Partition), (List<int> Replicas, List<int> Adding, List<int> Removing)> ongoing)
        {
            var moves = new Dictionary<string, SortedDictionary<int, (HashSet<int> Sources, HashSet<int> Destinations)>>();
            foreach (var ((topic, partition), o) in ongoing)
            {
                var sources = o.Replicas.Except(o.Adding).ToHashSet();
                GetMoves(topic)[partition] = (sources, o.Adding.ToHashSet());
            }
            foreach (var (topic, partition, replicas) in targets)
            {
                var topicMoves = GetMoves(topic);
                var sources = topicMoves.TryGetValue(partition, out var move) ? move.Sources : current[(topic, partition)].ToHashSet();
                topicMoves[partition] = (sources, replicas.Except(sources).ToHashSet());
            }
            var request = new IncrementalAlterConfigsRequest();
            foreach (var (topic, topicMoves) in moves)
            {
                var leader = new SortedSet<string>(topicMoves.SelectMany(m => m.Value.Sources.Select(s => $"{m.Key}:{s}")), StringComparer.Ordinal);
                var follower = new SortedSet<string>(topicMoves.SelectMany(m => m.Value.Destinations.Where(d => !m.Value.Sources.Contains(d)).Select(d => $"{m.Key}:{d}")), StringComparer.Ordinal);
                request.Resources.Add(new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = 2,
                    ResourceName = topic,
                    Configs =
                    [
                        new() { Name = "leader.replication.throttled.replicas", Value = string.Join(",", leader), ConfigOperation = 0 },
                        new() { Name = "follower.replication.throttled.replicas", Value = string.Join(",", follower), ConfigOperation = 0 },
                    ],
                });
            }
            await AlterConfigsAsync(request);

            SortedDictionary<int, (HashSet<int> Sources, HashSet<int> Destinations)> GetMoves(string topic) =>
                moves.TryGetValue(topic, out var found) ? found : moves[topic] = [];
        }

        /// <summary>
        /// Kafka's <c>clearAllThrottles</c> lines; the topic-level throttle configs are deleted. Samsa has no broker-level
        /// throttle rates to delete.
        /// </summary>
        private async Task ClearAllThrottlesAsync(List<(string Topic, int Partition, List<int> Replicas)> targets, MetadataResponse metadata)
        {
            var brokers = metadata.Brokers.Select(b => b.NodeId).Concat(targets.SelectMany(t => t.Replicas)).ToHashSet();
            var orderedBrokers = JavaHashOrder.OrderByLong([.. brokers], b => b);
            Console.WriteLine($"Clearing broker-level throttles on broker{(brokers.Count == 1 ? "" : "s")} {string.Join(",", orderedBrokers)}");
            var topics = targets.Select(t => t.Topic).Distinct().ToList();
            Console.WriteLine($"Clearing topic-level throttles on topic{(topics.Count == 1 ? "" : "s")} {string.Join(",", JavaHashOrder.OrderDefault(topics, t => t))}");
            var request = new IncrementalAlterConfigsRequest
            {
                Resources = [.. topics.Select(t => new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = 2,
                    ResourceName = t,
                    Configs =
                    [
                        new() { Name = "leader.replication.throttled.replicas", Value = null, ConfigOperation = 1 },
                        new() { Name = "follower.replication.throttled.replicas", Value = null, ConfigOperation = 1 },
                    ],
                })],
            };
            await AlterConfigsAsync(request);
        }

        private async Task AlterConfigsAsync(IncrementalAlterConfigsRequest request)
        {
            if (request.Resources.Count == 0)
            {
                return;
            }
            var response = await client.SendAsync<IncrementalAlterConfigsResponse>(request, 1, cancellationToken);
            if (response.Responses.FirstOrDefault(r => r.ErrorCode != 0) is { } failed)
            {
                throw new CommandException($"Error: {JavaException((ErrorCode)failed.ErrorCode)}: {failed.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage((ErrorCode)failed.ErrorCode)}");
            }
        }
    }

    /// <summary>
    /// Kafka's <c>AdminUtils.assignReplicasToBrokers</c> without racks: a random first broker and a random shift, each
    /// partition's first replica walking the broker list and the others following at the shift.
    /// </summary>
    internal static List<(int Partition, List<int> Replicas)> AssignReplicasToBrokers(IReadOnlyList<int> brokers, int partitions, int replicationFactor, Random? random = null)
    {
        if (partitions <= 0)
        {
            throw new CommandException("Number of partitions must be larger than 0.");
        }
        if (replicationFactor <= 0)
        {
            throw new CommandException("Replication factor must be larger than 0.");
        }
        if (replicationFactor > brokers.Count)
        {
            throw new CommandException($"Replication factor: {replicationFactor} larger than available brokers: {brokers.Count}.");
        }
        random ??= Random.Shared;
        var result = new List<(int, List<int>)>();
        var startIndex = random.Next(brokers.Count);
        var nextReplicaShift = random.Next(brokers.Count);
        for (var partition = 0; partition < partitions; partition++)
        {
            if (partition > 0 && partition % brokers.Count == 0)
            {
                nextReplicaShift++;
            }
            var first = (partition + startIndex) % brokers.Count;
            var replicas = new List<int> { brokers[first] };
            for (var j = 0; j < replicationFactor - 1; j++)
            {
                var shift = 1 + ((nextReplicaShift + j) % (brokers.Count - 1));
                replicas.Add(brokers[(first + shift) % brokers.Count]);
            }
            result.Add((partition, replicas));
        }
        return result;
    }

    /// <summary>Kafka's reassignment JSON, compact, partitions ordered by topic then partition.</summary>
    internal static string FormatJson(Dictionary<(string Topic, int Partition), List<int>> assignment)
    {
        var partitions = new JsonArray();
        foreach (var ((topic, partition), replicas) in assignment.OrderBy(a => a.Key.Topic, StringComparer.Ordinal).ThenBy(a => a.Key.Partition))
        {
            partitions.Add(new JsonObject
            {
                ["topic"] = topic,
                ["partition"] = partition,
                ["replicas"] = new JsonArray([.. replicas.Select(r => (JsonNode)r)]),
                ["log_dirs"] = new JsonArray([.. replicas.Select(_ => (JsonNode)AnyLogDir)]),
            });
        }
        var root = new JsonObject { ["version"] = 1, ["partitions"] = partitions };
        return root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>
    /// Kafka's <c>parsePartitionReassignmentData</c> (version 1): the partitions in file order (duplicates kept, for the
    /// caller to refuse) and the replicas given a log dir other than <c>any</c>.
    /// </summary>
    internal static (List<(string Topic, int Partition, List<int> Replicas)> Targets, List<(string Topic, int Partition, int Replica, string LogDir)> LogDirs) ParseReassignment(string json)
    {
        var targets = new List<(string, int, List<int>)>();
        var logDirs = new List<(string, int, int, string)>();
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var version = root.TryGetProperty("version", out var v) ? v.GetInt32() : 1;
            if (version != 1)
            {
                throw new CommandException($"Error: Not supported version field value {version}");
            }
            if (root.TryGetProperty("partitions", out var partitions))
            {
                foreach (var p in partitions.EnumerateArray())
                {
                    var topic = p.GetProperty("topic").GetString()!;
                    var partition = p.GetProperty("partition").GetInt32();
                    List<int> replicas = [.. p.GetProperty("replicas").EnumerateArray().Select(r => r.GetInt32())];
                    List<string> dirs = p.TryGetProperty("log_dirs", out var d) ? [.. d.EnumerateArray().Select(x => x.GetString()!)] : [.. replicas.Select(_ => AnyLogDir)];
                    if (dirs.Count != replicas.Count)
                    {
                        throw new CommandException($"Error: Size of replicas list [{string.Join(", ", replicas)}] is different from size of log dirs list [{string.Join(", ", dirs)}] for partition {topic}-{partition}");
                    }
                    targets.Add((topic, partition, replicas));
                    for (var i = 0; i < dirs.Count; i++)
                    {
                        if (dirs[i] != AnyLogDir)
                        {
                            logDirs.Add((topic, partition, replicas[i], dirs[i]));
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CommandException("Error: " + e.Message);
        }
        return (targets, logDirs);
    }

    /// <summary>The topics of a <c>--topics-to-move-json-file</c>: <c>{"topics":[{"topic":"foo"}],"version":1}</c>.</summary>
    internal static List<string> ParseTopics(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var version = root.TryGetProperty("version", out var v) ? v.GetInt32() : 1;
            if (version != 1)
            {
                throw new CommandException($"Error: Not supported version field value {version}");
            }
            return root.TryGetProperty("topics", out var topics) ? [.. topics.EnumerateArray().Select(t => t.GetProperty("topic").GetString()!)] : [];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CommandException("Error: The input string is not a valid JSON");
        }
    }

    /// <summary>Kafka's <c>AdminCommandFailedException</c>: caught by the tool's catch-all, so printed after <c>Error: </c>.</summary>
    private static CommandException Failed(string message) => new("Error: " + message);

    private static string JavaException(ErrorCode code) => "org.apache.kafka.common.errors." + code switch
    {
        ErrorCode.UnknownTopicOrPartition => "UnknownTopicOrPartitionException",
        ErrorCode.InvalidReplicaAssignment => "InvalidReplicaAssignmentException",
        ErrorCode.NoReassignmentInProgress => "NoReassignmentInProgressException",
        ErrorCode.NotController => "NotControllerException",
        ErrorCode.ClusterAuthorizationFailed => "ClusterAuthorizationException",
        ErrorCode.RequestTimedOut => "TimeoutException",
        ErrorCode.InvalidConfig => "InvalidConfigurationException",
        _ => "UnknownServerException",
    };
}
