using System.CommandLine;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa consumer-groups</c> = <c>kafka-consumer-groups.sh</c> (Kafka 4.x <c>ConsumerGroupCommand</c>): list,
/// describe (offsets and lag, members, state), delete groups, reset offsets and delete offsets, on Confluent's
/// AdminClient. Output and messages are Kafka's, blank lines, padding and trailing spaces included:
/// argument errors print one line on stderr and exit 1 (Kafka's <c>printUsageAndExit</c>); failures from the
/// cluster print <c>\nError: ...</c> on stdout and, as in Kafka, still exit 0.
/// </summary>
internal sealed class ConsumerGroupsCommand
{
    private const string Missing = "-";

    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "REQUIRED: The server(s) to connect to." };
    private readonly Option<string> _commandConfig = new("--command-config") { Description = "Property file containing configs to be passed to Admin Client and Consumer." };
    private readonly Option<string[]> _group = new("--group") { Description = "The consumer group we wish to act on." };
    private readonly Option<string[]> _topic = new("--topic") { Description = "The topic whose consumer group information should be deleted or topic whose should be included in the reset offset process. In `reset-offsets` case, partitions can be specified using this format: `topic1:0,1,2`, where 0,1,2 are the partition to be included in the process. Reset-offsets also supports multiple topic inputs." };
    private readonly Option<bool> _allTopics = new("--all-topics") { Description = "Consider all topics assigned to a group in the `reset-offsets` process." };
    private readonly Option<bool> _list = new("--list") { Description = "List all consumer groups." };
    private readonly Option<bool> _describe = new("--describe") { Description = "Describe consumer group and list offset lag (number of messages not yet processed) related to given group." };
    private readonly Option<bool> _allGroups = new("--all-groups") { Description = "Apply to all consumer groups." };
    private readonly Option<bool> _delete = new("--delete") { Description = "Pass in groups to delete topic partition offsets and ownership information over the entire consumer group. For instance --group g1 --group g2" };
    private readonly Option<long> _timeout = new("--timeout") { Description = "The timeout that can be set for some use cases. For example, it can be used when describing the group to specify the maximum amount of time in milliseconds to wait before the group stabilizes (when the group is just created, or is going through some changes).", DefaultValueFactory = _ => 5000 };
    private readonly Option<bool> _resetOffsets = new("--reset-offsets") { Description = "Reset offsets of consumer group. Supports one consumer group at the time, and instances should be inactive. Has 2 execution options: --dry-run (the default) to plan which offsets to reset, and --execute to update the offsets. Additionally, the --export option is used to export the results to a CSV format. You must choose one of the following reset specifications: --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset. To define the scope use --all-topics or --topic. One scope must be specified unless you use '--from-file'." };
    private readonly Option<bool> _deleteOffsets = new("--delete-offsets") { Description = "Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics." };
    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Only show results without executing changes on Consumer Groups. Supported operations: reset-offsets." };
    private readonly Option<bool> _execute = new("--execute") { Description = "Execute operation. Supported operations: reset-offsets." };
    private readonly Option<bool> _export = new("--export") { Description = "Export operation execution to a CSV file. Supported operations: reset-offsets." };
    private readonly Option<long?> _toOffset = new("--to-offset") { Description = "Reset offsets to a specific offset." };
    private readonly Option<string> _fromFile = new("--from-file") { Description = "Reset offsets to values defined in CSV file." };
    private readonly Option<string> _toDatetime = new("--to-datetime") { Description = "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'" };
    private readonly Option<string> _byDuration = new("--by-duration") { Description = "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'" };
    private readonly Option<bool> _toEarliest = new("--to-earliest") { Description = "Reset offsets to earliest offset." };
    private readonly Option<bool> _toLatest = new("--to-latest") { Description = "Reset offsets to latest offset." };
    private readonly Option<bool> _toCurrent = new("--to-current") { Description = "Reset offsets to current offset." };
    private readonly Option<long?> _shiftBy = new("--shift-by") { Description = "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative." };
    private readonly Option<bool> _members = new("--members") { Description = "Describe members of the group. This option may be used with '--describe' and '--bootstrap-server' options only." };
    private readonly Option<bool> _verbose = new("--verbose") { Description = "Provide additional information, if any, when describing the group. This option may be used with '--offsets'/'--members'/'--state' and '--bootstrap-server' options only." };
    private readonly Option<bool> _offsets = new("--offsets") { Description = "Describe the group and list all topic partitions in the group along with their offset lag. This is the default sub-action of and may be used with '--describe' and '--bootstrap-server' options only." };
    private readonly Option<string?> _state = new("--state") { Description = "When specified with '--describe', includes the state of the group. When specified with '--list', it displays the state of all groups. It can also be used to list groups with specific states (--list --state stable,empty).", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string?> _type = new("--type") { Description = "When specified with '--list', it displays the types of all the groups. It can also be used to list groups with specific types (--list --type classic,consumer).", Arity = ArgumentArity.ZeroOrOne };

    private ParseResult _r = null!;
    private IAdminClient _admin = null!;

    public Command Build()
    {
        var command = new Command("consumer-groups", "List all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets (kafka-consumer-groups.sh).");
        foreach (var option in new Option[] { _bootstrap, _commandConfig, _group, _topic, _allTopics, _list, _describe, _allGroups, _delete, _timeout, _resetOffsets,
            _deleteOffsets, _dryRun, _execute, _export, _toOffset, _fromFile, _toDatetime, _byDuration, _toEarliest, _toLatest, _toCurrent, _shiftBy, _members,
            _verbose, _offsets, _state, _type })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => RunAsync(result));
        return command;
    }

    private bool Has(Option option) => _r.GetResult(option) is { Implicit: false };

    private TimeSpan Timeout => TimeSpan.FromMilliseconds(_r.GetValue(_timeout));

    private List<string> Groups => [.. _r.GetValue(_group) ?? []];

    private async Task<int> RunAsync(ParseResult r)
    {
        _r = r;
        try
        {
            CheckArgs();
        }
        catch (CommandException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        try
        {
            var properties = r.GetValue(_commandConfig) is { } file ? ClientOptions.ReadFile(file) : new Dictionary<string, string>(StringComparer.Ordinal);
            properties["bootstrap.servers"] = r.GetValue(_bootstrap)!;
            using var admin = ClientOptions.CreateAdmin(properties);
            _admin = admin;
            if (Has(_list))
            {
                await ListAsync();
            }
            else if (Has(_describe))
            {
                await DescribeAsync();
            }
            else if (Has(_delete))
            {
                await DeleteGroupsAsync();
            }
            else if (Has(_resetOffsets))
            {
                var resetter = new GroupOffsetsResetter(admin, Timeout, this.ResetOptions());
                var plan = await resetter.ResetAsync(
                    Has(_allGroups) ? await ListConsumerGroupsAsync() : Groups,
                    dryRun: Has(_dryRun) || !Has(_execute));
                Console.Out.Write(Has(_export) ? GroupOffsetsResetter.ExportCsv(plan, Groups.Count == 1) + "\n" : GroupOffsetsResetter.Format(plan));
            }
            else
            {
                await DeleteOffsetsAsync();
            }
            return 0;
        }
        catch (CommandException e)
        {
            // Kafka's IllegalArgumentException path: usage error, exit 1.
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var message = JavaErrors.Describe(e);
            PrintError("Executing consumer group command failed due to " + message);
            Console.Error.WriteLine(message);
            return 0;
        }
    }

    private GroupOffsetsResetter.Options ResetOptions() => new(
        Groups,
        Has(_allTopics),
        [.. _r.GetValue(_topic) ?? []],
        _r.GetValue(_toOffset),
        Has(_toEarliest),
        Has(_toLatest),
        Has(_toCurrent),
        _r.GetValue(_shiftBy),
        _r.GetValue(_toDatetime),
        _r.GetValue(_byDuration),
        _r.GetValue(_fromFile));

    /// <summary>Kafka's <c>ConsumerGroupCommandOptions.checkArgs</c> and the one-action rule, in Kafka's order and words.</summary>
    private void CheckArgs()
    {
        foreach (var (option, anyOf) in new (Option Option, Option[] AnyOf)[] { (_members, [_describe]), (_verbose, [_describe]), (_offsets, [_describe]), (_state, [_describe, _list]), (_type, [_list]) })
        {
            if (Has(option) && !anyOf.Any(Has))
            {
                throw new CommandException($"Option(s) [{option.Name.TrimStart('-')}] are unavailable given other options on the command line");
            }
        }
        if (!Has(_bootstrap))
        {
            throw new CommandException("Missing required argument \"[bootstrap-server]\"");
        }
        var groupScope = Has(_group) || Has(_allGroups);
        if (Has(_describe))
        {
            if (!groupScope)
            {
                throw new CommandException("Option [describe] takes one of these options: [all-groups], [group]");
            }
            if (new Option[] { _members, _offsets, _state }.Count(Has) > 1)
            {
                throw new CommandException("Option [describe] takes at most one of these options: [members], [offsets], [state]");
            }
            if (Has(_state) && _r.GetValue(_state) is not null)
            {
                throw new CommandException("Option [describe] does not take a value for [state]");
            }
        }
        if (Has(_delete))
        {
            if (!groupScope)
            {
                throw new CommandException("Option [delete] takes one of these options: [all-groups], [group]");
            }
            if (Has(_topic))
            {
                throw new CommandException("The consumer does not support topic-specific offset deletion from a consumer group.");
            }
        }
        if (Has(_deleteOffsets) && (!Has(_group) || !Has(_topic)))
        {
            throw new CommandException("Option [delete-offsets] takes the following options: [topic], [group]");
        }
        if (Has(_resetOffsets))
        {
            if (Has(_dryRun) && Has(_execute))
            {
                throw new CommandException("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
            }
            if (!Has(_dryRun) && !Has(_execute))
            {
                Console.Error.WriteLine("WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.");
            }
            if (!groupScope)
            {
                throw new CommandException("Option [reset-offsets] takes one of these options: [all-groups], [group]");
            }
            // Kafka checks each scenario against the others in this order; the others in its HashSet order.
            var scenarios = new (string Name, Option Option)[]
            {
                ("to-offset", _toOffset), ("to-current", _toCurrent), ("to-datetime", _toDatetime), ("from-file", _fromFile),
                ("by-duration", _byDuration), ("to-earliest", _toEarliest), ("to-latest", _toLatest), ("shift-by", _shiftBy),
            };
            foreach (var used in new[] { "to-offset", "to-datetime", "by-duration", "to-earliest", "to-latest", "to-current", "shift-by", "from-file" })
            {
                var option = scenarios.First(s => s.Name == used).Option;
                CheckInvalid(used, option, scenarios.Where(s => s.Name != used));
            }
        }
        CheckInvalid("group", _group, [("all-groups", _allGroups)]);
        CheckInvalid("group", _group, [("list", _list)]);
        CheckInvalid("topic", _topic, [("describe", _describe), ("list", _list)]);

        var actions = new Option[] { _list, _describe, _delete, _resetOffsets, _deleteOffsets }.Count(Has);
        if (actions != 1)
        {
            throw new CommandException("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
        }
    }

    private void CheckInvalid(string usedName, Option used, IEnumerable<(string Name, Option Option)> invalid)
    {
        if (!Has(used))
        {
            return;
        }
        foreach (var (name, option) in invalid)
        {
            if (Has(option))
            {
                throw new CommandException($"Option \"[{usedName}]\" can't be used with option \"[{name}]\"");
            }
        }
    }

    private static void PrintError(string message) => Console.Out.WriteLine("\nError: " + message);

    // ---- list ----

    private async Task<List<string>> ListConsumerGroupsAsync()
    {
        var listed = await _admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = Timeout });
        return [.. listed.Valid.Select(g => g.GroupId)];
    }

    private async Task ListAsync()
    {
        var includeType = Has(_type);
        var includeState = Has(_state);
        if (!includeType && !includeState)
        {
            foreach (var group in await ListConsumerGroupsAsync())
            {
                Console.WriteLine(group);
            }
            return;
        }
        var states = ParseStates(_r.GetValue(_state));
        var types = ParseTypes(_r.GetValue(_type));
        var options = new ListConsumerGroupsOptions { RequestTimeout = Timeout };
        // Confluent's filter enums lack the KIP-848 states; those are filtered here instead of at the broker.
        var serverStates = states.Select(ToConfluentState).ToList();
        if (states.Count > 0 && serverStates.All(s => s is not null))
        {
            options.MatchStates = [.. serverStates.Select(s => s!.Value)];
        }
        if (types.Count > 0)
        {
            options.MatchTypes = [.. types.Select(t => t == "Classic" ? ConsumerGroupType.Classic : ConsumerGroupType.Consumer)];
        }
        var listed = (await _admin.ListConsumerGroupsAsync(options)).Valid
            .Where(g => states.Count == 0 || states.Contains(StateName(g.State)))
            .Where(g => types.Count == 0 || types.Contains(TypeName(g.Type)))
            .ToList();

        var width = listed.Select(g => Math.Max(15, g.GroupId.Length)).DefaultIfEmpty(15).Max() + 10;
        string Row(string group, string? type, string? state) =>
            group.PadRight(width) + (includeType ? " " + type!.PadRight(20) : "") + (includeState ? " " + state!.PadRight(20) : "");
        Console.WriteLine(Row("GROUP", "TYPE", "STATE"));
        foreach (var g in listed)
        {
            Console.WriteLine(Row(g.GroupId, TypeName(g.Type), StateName(g.State)));
        }
    }

    private static readonly string[] ConsumerStates = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty", "Assigning", "Reconciling"];

    private static HashSet<string> ParseStates(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }
        var parsed = text.Split(',').Select(s => ConsumerStates.FirstOrDefault(k => k.Equals(s.Trim(), StringComparison.OrdinalIgnoreCase)) ?? "Unknown").ToHashSet();
        return parsed.Contains("Unknown")
            ? throw new CommandException($"Invalid state list '{text}'. Valid states are: {string.Join(", ", ConsumerStates)}")
            : parsed;
    }

    private static HashSet<string> ParseTypes(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }
        var parsed = text.ToLowerInvariant().Split(',').Select(s => s.Trim() switch { "classic" => "Classic", "consumer" => "Consumer", _ => "Unknown" }).ToHashSet();
        return parsed.Contains("Unknown")
            ? throw new CommandException($"Invalid types list '{text}'. Valid types are: Classic, Consumer")
            : parsed;
    }

    private static ConsumerGroupState? ToConfluentState(string state) => state switch
    {
        "PreparingRebalance" => ConsumerGroupState.PreparingRebalance,
        "CompletingRebalance" => ConsumerGroupState.CompletingRebalance,
        "Stable" => ConsumerGroupState.Stable,
        "Dead" => ConsumerGroupState.Dead,
        "Empty" => ConsumerGroupState.Empty,
        _ => null,
    };

    /// <summary>Kafka's <c>GroupState.toString</c>.</summary>
    internal static string StateName(ConsumerGroupState state) => state switch
    {
        ConsumerGroupState.PreparingRebalance => "PreparingRebalance",
        ConsumerGroupState.CompletingRebalance => "CompletingRebalance",
        ConsumerGroupState.Stable => "Stable",
        ConsumerGroupState.Dead => "Dead",
        ConsumerGroupState.Empty => "Empty",
        _ => "Unknown",
    };

    private static string TypeName(ConsumerGroupType type) => type switch
    {
        ConsumerGroupType.Classic => "Classic",
        ConsumerGroupType.Consumer => "Consumer",
        _ => "Unknown",
    };

    // ---- describe ----

    private async Task DescribeAsync()
    {
        var groupIds = Has(_allGroups) ? await ListConsumerGroupsAsync() : Groups;
        var described = await DescribeGroupsAsync(groupIds);
        var verbose = Has(_verbose);
        if (Has(_members))
        {
            foreach (var group in described)
            {
                PrintMembers(group, verbose);
            }
        }
        else if (Has(_state))
        {
            foreach (var group in described)
            {
                PrintState(group, verbose);
            }
        }
        else
        {
            foreach (var group in described)
            {
                await PrintOffsetsAsync(group, verbose);
            }
        }
    }

    /// <summary>Descriptions sorted by group id (Kafka keeps them in a TreeMap); a group the cluster does not know reads as Dead.</summary>
    private async Task<List<ConsumerGroupDescription>> DescribeGroupsAsync(IReadOnlyCollection<string> groupIds)
    {
        if (groupIds.Count == 0)
        {
            return [];
        }
        List<ConsumerGroupDescription> descriptions;
        try
        {
            descriptions = (await _admin.DescribeConsumerGroupsAsync(groupIds.Distinct(), new DescribeConsumerGroupsOptions { RequestTimeout = Timeout })).ConsumerGroupDescriptions;
        }
        catch (DescribeConsumerGroupsException e)
        {
            descriptions = e.Results.ConsumerGroupDescriptions;
        }
        foreach (var d in descriptions.Where(d => d.Error.IsError && d.Error.Code != Confluent.Kafka.ErrorCode.GroupIdNotFound))
        {
            throw new KafkaException(d.Error);
        }
        return [.. descriptions.OrderBy(d => d.GroupId, StringComparer.Ordinal)];
    }

    private static string State(ConsumerGroupDescription d) => d.Error.Code == Confluent.Kafka.ErrorCode.GroupIdNotFound ? "Dead" : StateName(d.State);

    /// <summary>Kafka's <c>shouldPrintMemberState</c>: the warnings for dead, empty and rebalancing groups.</summary>
    private static bool ShouldPrintMemberState(string group, string state, int rows)
    {
        switch (state)
        {
            case "Dead":
                PrintError($"Consumer group '{group}' does not exist.");
                return false;
            case "Empty":
                Console.Error.WriteLine($"\nConsumer group '{group}' has no active members.");
                break;
            case "PreparingRebalance" or "CompletingRebalance" or "Assigning" or "Reconciling":
                Console.Error.WriteLine($"\nWarning: Consumer group '{group}' is rebalancing.");
                break;
            case "Stable":
                break;
            default:
                throw new CommandFailure($"Expected a valid consumer group state, but found '{state}'.");
        }
        return rows > 0;
    }

    private sealed record PartitionRow(string Topic, string Partition, string LeaderEpoch, string Offset, string LogEndOffset, string Lag, string ConsumerId, string Host, string ClientId);

    private async Task PrintOffsetsAsync(ConsumerGroupDescription group, bool verbose)
    {
        var state = State(group);
        var committed = state == "Dead" ? [] : await CommittedOffsetsAsync(group.GroupId);
        var rows = new List<PartitionRow>();
        var assigned = new HashSet<TopicPartition>();
        // Members with the most partitions first (a stable sort, as Java's), each member's partitions by topic then partition.
        foreach (var member in group.Members.Where(m => m.Assignment.TopicPartitions.Count > 0).OrderByDescending(m => m.Assignment.TopicPartitions.Count))
        {
            assigned.UnionWith(member.Assignment.TopicPartitions);
            rows.AddRange(await DescribePartitionsAsync(member.Assignment.TopicPartitions, committed, member.ConsumerId, member.Host, member.ClientId));
        }
        var unassigned = committed.Keys.Where(tp => !assigned.Contains(tp)).ToList();
        if (unassigned.Count > 0)
        {
            rows.AddRange(await DescribePartitionsAsync(unassigned, committed, Missing, Missing, Missing));
        }
        if (!ShouldPrintMemberState(group.GroupId, state, rows.Count))
        {
            return;
        }
        var groupWidth = Math.Max(15, group.GroupId.Length);
        var topicWidth = rows.Select(x => x.Topic.Length).Append(15).Max();
        var consumerWidth = rows.Select(x => x.ConsumerId.Length).Append(15).Max();
        var hostWidth = rows.Select(x => x.Host.Length).Append(15).Max();
        string Line(string g, PartitionRow x) =>
            "\n" + g.PadRight(groupWidth) + " " + x.Topic.PadRight(topicWidth) + " " + x.Partition.PadRight(10) + " " +
            (verbose ? x.LeaderEpoch.PadRight(15) + " " : "") +
            x.Offset.PadRight(15) + " " + x.LogEndOffset.PadRight(15) + " " + x.Lag.PadRight(15) + " " +
            x.ConsumerId.PadRight(consumerWidth) + " " + x.Host.PadRight(hostWidth) + " " + x.ClientId;
        var output = new System.Text.StringBuilder();
        output.Append(Line("GROUP", new PartitionRow("TOPIC", "PARTITION", "LEADER-EPOCH", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")));
        foreach (var row in rows)
        {
            output.Append(Line(group.GroupId, row));
        }
        Console.Out.WriteLine(output.ToString());
    }

    private async Task<Dictionary<TopicPartition, TopicPartitionOffsetError>> CommittedOffsetsAsync(string group)
    {
        var result = await _admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, null)], new ListConsumerGroupOffsetsOptions { RequestTimeout = Timeout });
        return result.SelectMany(r => r.Partitions).Where(p => p.Offset.Value >= 0).ToDictionary(p => p.TopicPartition);
    }

    /// <summary>Kafka's <c>describePartitions</c>: committed offset, log end offset (ListOffsets latest) and lag, sorted by topic then partition.</summary>
    private async Task<List<PartitionRow>> DescribePartitionsAsync(
        IReadOnlyCollection<TopicPartition> partitions, Dictionary<TopicPartition, TopicPartitionOffsetError> committed, string consumerId, string host, string clientId)
    {
        var ends = await LogEndOffsetsAsync(partitions);
        return [.. partitions.OrderBy(tp => tp.Topic, StringComparer.Ordinal).ThenBy(tp => tp.Partition.Value).Select(tp =>
        {
            var offset = committed.TryGetValue(tp, out var c) ? c.Offset.Value : (long?)null;
            var end = ends.TryGetValue(tp, out var e) ? e : (long?)null;
            var lag = offset is { } o && o != -1 && end is { } le ? (le - o).ToString(System.Globalization.CultureInfo.InvariantCulture) : Missing;
            var epoch = c?.LeaderEpoch is { } le2 and >= 0 ? le2.ToString(System.Globalization.CultureInfo.InvariantCulture) : Missing;
            return new PartitionRow(tp.Topic, tp.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), epoch,
                offset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Missing, end?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Missing, lag, consumerId, host, clientId);
        })];
    }

    /// <summary>Latest offsets of the partitions that have a leader; a partition without a leader or an answer is left out ("-").</summary>
    internal static async Task<Dictionary<TopicPartition, long>> ListOffsetsAsync(IAdminClient admin, IEnumerable<TopicPartition> partitions, OffsetSpec spec, TimeSpan timeout)
    {
        var list = partitions.Distinct().ToList();
        if (list.Count == 0)
        {
            return [];
        }
        List<ListOffsetsResultInfo> infos;
        try
        {
            infos = (await admin.ListOffsetsAsync(list.Select(tp => new TopicPartitionOffsetSpec { TopicPartition = tp, OffsetSpec = spec }), new ListOffsetsOptions { RequestTimeout = timeout })).ResultInfos;
        }
        catch (ListOffsetsException e)
        {
            infos = e.Result.ResultInfos;
        }
        return infos.Where(i => !i.TopicPartitionOffsetError.Error.IsError)
            .ToDictionary(i => i.TopicPartitionOffsetError.TopicPartition, i => i.TopicPartitionOffsetError.Offset.Value);
    }

    private Task<Dictionary<TopicPartition, long>> LogEndOffsetsAsync(IEnumerable<TopicPartition> partitions) =>
        ListOffsetsAsync(_admin, partitions, OffsetSpec.Latest(), Timeout);

    private static void PrintMembers(ConsumerGroupDescription group, bool verbose)
    {
        var state = State(group);
        var members = state == "Dead" ? [] : group.Members;
        int groupWidth = 15, consumerWidth = 15, instanceWidth = 17, hostWidth = 15, clientWidth = 15, currentWidth = 20, targetWidth = 20;
        var withInstanceId = false;
        if (ShouldPrintMemberState(group.GroupId, state, members.Count))
        {
            foreach (var m in members)
            {
                groupWidth = Math.Max(groupWidth, group.GroupId.Length);
                consumerWidth = Math.Max(consumerWidth, m.ConsumerId.Length);
                instanceWidth = Math.Max(instanceWidth, (m.GroupInstanceId ?? "").Length);
                hostWidth = Math.Max(hostWidth, m.Host.Length);
                clientWidth = Math.Max(clientWidth, m.ClientId.Length);
                withInstanceId |= !string.IsNullOrEmpty(m.GroupInstanceId);
                currentWidth = Math.Max(currentWidth, AssignmentString(m.Assignment?.TopicPartitions).Length);
                targetWidth = Math.Max(targetWidth, AssignmentString(m.TargetAssignment?.TopicPartitions).Length);
            }
        }
        string Columns(string g, string consumer, string instance, string host, string client, string partitions) =>
            g.PadRight(groupWidth) + " " + consumer.PadRight(consumerWidth) + " " + (withInstanceId ? instance.PadRight(instanceWidth) + " " : "") +
            host.PadRight(hostWidth) + " " + client.PadRight(clientWidth) + " " + partitions.PadRight(15) + " ";
        string Epochs(string currentEpoch, string current, string targetEpoch, string target) =>
            currentEpoch.PadRight(15) + " " + current.PadRight(currentWidth) + " " + targetEpoch.PadRight(15) + " " + target.PadRight(targetWidth);

        var output = new System.Text.StringBuilder("\n");
        output.Append(Columns("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"));
        if (verbose)
        {
            output.Append(Epochs("CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT"));
        }
        output.Append('\n');
        foreach (var m in members)
        {
            output.Append(Columns(group.GroupId, m.ConsumerId, m.GroupInstanceId ?? "", m.Host, m.ClientId, (m.Assignment?.TopicPartitions?.Count ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (verbose)
            {
                // Confluent's client does not return member or target-assignment epochs (KIP-848); classic groups have none.
                output.Append(Epochs(Missing, AssignmentString(m.Assignment?.TopicPartitions), Missing, AssignmentString(m.TargetAssignment?.TopicPartitions)));
            }
            output.Append('\n');
        }
        Console.Out.Write(output.ToString());
    }

    /// <summary>Kafka's <c>getAssignmentString</c>: <c>topic:0,1;other:2</c>, topics sorted, or "-" when empty.</summary>
    private static string AssignmentString(IEnumerable<TopicPartition>? partitions)
    {
        var list = partitions?.ToList() ?? [];
        return list.Count == 0
            ? Missing
            : string.Join(";", list.GroupBy(tp => tp.Topic)
                .Select(g => g.Key + ":" + string.Join(",", g.Select(tp => tp.Partition.Value).Order()))
                .Order(StringComparer.Ordinal));
    }

    private static void PrintState(ConsumerGroupDescription group, bool verbose)
    {
        var state = State(group);
        if (!ShouldPrintMemberState(group.GroupId, state, 1))
        {
            return;
        }
        var coordinator = $"{group.Coordinator.Host}:{group.Coordinator.Port}  ({group.Coordinator.Id})";
        var coordinatorWidth = Math.Max(25, coordinator.Length);
        var groupWidth = Math.Max(15, group.GroupId.Length);
        var strategy = string.IsNullOrEmpty(group.PartitionAssignor) ? Missing : group.PartitionAssignor;
        string Line(string g, string c, string s, string st, string? epoch, string? targetEpoch, string members) =>
            "\n" + g.PadRight(groupWidth) + " " + c.PadRight(coordinatorWidth) + " " + s.PadRight(20) + " " + st.PadRight(20) + " " +
            (verbose ? epoch!.PadRight(15) + " " + targetEpoch!.PadRight(25) + " " : "") + members;
        Console.Out.WriteLine(
            Line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "GROUP-EPOCH", "TARGET-ASSIGNMENT-EPOCH", "#MEMBERS") +
            Line(group.GroupId, coordinator, strategy, state, Missing, Missing, group.Members.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    // ---- delete ----

    private async Task DeleteGroupsAsync()
    {
        var groupIds = Has(_allGroups) ? await ListConsumerGroupsAsync() : Groups.Distinct().ToList();
        List<(string Group, Error Error)> results;
        try
        {
            await _admin.DeleteGroupsAsync(groupIds, new DeleteGroupsOptions { RequestTimeout = Timeout });
            results = [.. groupIds.Select(g => (g, new Error(Confluent.Kafka.ErrorCode.NoError)))];
        }
        catch (DeleteGroupsException e)
        {
            results = [.. e.Results.Select(x => (x.Group, x.Error))];
        }
        // Kafka collects successes and failures in HashMaps and prints them in that order.
        var success = JavaHashOrder.OrderDefault(results.Where(x => !x.Error.IsError).ToList(), x => x.Group).Select(x => $"'{x.Group}'").ToList();
        var failed = JavaHashOrder.OrderDefault(results.Where(x => x.Error.IsError).ToList(), x => x.Group).ToList();
        if (failed.Count == 0)
        {
            Console.WriteLine($"Deletion of requested consumer groups ({string.Join(", ", success)}) was successful.");
            return;
        }
        PrintError("Deletion of some consumer groups failed:");
        foreach (var (group, error) in failed)
        {
            Console.WriteLine($"* Group '{group}' could not be deleted due to: {JavaErrors.Describe(error)}");
        }
        if (success.Count > 0)
        {
            Console.WriteLine($"\nThese consumer groups were deleted successfully: {string.Join(", ", success)}");
        }
    }

    private async Task DeleteOffsetsAsync()
    {
        var group = Groups[0];
        var topics = _r.GetValue(_topic)!;
        var partitionErrors = new Dictionary<TopicPartition, string?>();
        var partitions = new HashSet<TopicPartition>();
        foreach (var topic in topics.Where(t => t.Contains(':', StringComparison.Ordinal)))
        {
            partitions.UnionWith(GroupOffsetsResetter.ParseTopicWithPartitions(topic));
        }
        var whole = topics.Where(t => !t.Contains(':', StringComparison.Ordinal)).Distinct().ToList();
        if (whole.Count > 0)
        {
            var metadata = _admin.GetMetadata(Timeout);
            foreach (var topic in whole)
            {
                var m = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
                if (m is null || m.Error.IsError)
                {
                    var code = m?.Error.Code ?? Confluent.Kafka.ErrorCode.UnknownTopicOrPart;
                    partitionErrors[new TopicPartition(topic, -1)] = JavaErrors.Describe(new Error(code));
                    continue;
                }
                partitions.UnionWith(m.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)));
            }
        }

        var topLevel = Confluent.Kafka.ErrorCode.NoError;
        if (partitions.Count > 0)
        {
            try
            {
                await _admin.DeleteConsumerGroupOffsetsAsync(group, partitions, new DeleteConsumerGroupOffsetsOptions { RequestTimeout = Timeout });
                foreach (var tp in partitions)
                {
                    partitionErrors[tp] = null;
                }
            }
            catch (DeleteConsumerGroupOffsetsException e)
            {
                var report = e.Result;
                var groupError = report.Error;
                var byPartition = report.Partitions.ToDictionary(p => p.TopicPartition, p => p.Error);
                topLevel = groupError.IsError ? groupError.Code : byPartition.Values.FirstOrDefault(x => x.IsError)?.Code ?? Confluent.Kafka.ErrorCode.NoError;
                foreach (var tp in partitions)
                {
                    var error = groupError.IsError ? groupError : byPartition.GetValueOrDefault(tp);
                    partitionErrors[tp] = error is { IsError: true } ? JavaErrors.Describe(error) : null;
                }
            }
        }

        switch ((int)topLevel)
        {
            case 0:
                Console.WriteLine($"Request succeeded for deleting offsets from group {group}.");
                break;
            case 24 or 69 or 30 or 68:
                PrintError(Samsa.Protocol.ErrorCodes.DefaultMessage((Samsa.Protocol.ErrorCode)(short)topLevel)!);
                break;
            case 86 or 29 or 3:
                PrintError("Encountered some partition-level error, see the follow-up details.");
                break;
            default:
                PrintError("Encountered some unknown error: " + Samsa.Protocol.ErrorCodes.KafkaName((Samsa.Protocol.ErrorCode)(short)topLevel));
                break;
        }
        var topicWidth = partitionErrors.Keys.Select(tp => tp.Topic.Length).Append(15).Max();
        string Line(string topic, string partition, string status) => "\n" + topic.PadRight(topicWidth) + " " + partition.PadRight(10) + " " + status.PadRight(15);
        var output = new System.Text.StringBuilder(Line("TOPIC", "PARTITION", "STATUS"));
        foreach (var (tp, error) in partitionErrors.OrderBy(e => e.Key.Topic + e.Key.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal))
        {
            output.Append(Line(tp.Topic, tp.Partition.Value >= 0 ? tp.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : Missing, error is null ? "Successful" : "Error: " + error));
        }
        Console.Out.WriteLine(output.ToString());
    }
}

/// <summary>A failure Kafka's tool reports as <c>Error: Executing consumer group command failed due to ...</c>.</summary>
internal sealed class CommandFailure(string message) : Exception(message);

/// <summary>Kafka's Java exception names and messages for the errors this tool prints.</summary>
internal static class JavaErrors
{
    public static string Describe(Error error)
    {
        var code = (Samsa.Protocol.ErrorCode)(short)(int)error.Code;
        if ((int)error.Code < 0 || !Samsa.Protocol.ErrorCodes.IsDefined(code))
        {
            return "org.apache.kafka.common.KafkaException: " + error.Reason;
        }
        var name = code switch
        {
            Samsa.Protocol.ErrorCode.NonEmptyGroup => "GroupNotEmptyException",
            Samsa.Protocol.ErrorCode.GroupSubscribedToTopic => "GroupSubscribedToTopicException",
            Samsa.Protocol.ErrorCode.UnknownTopicOrPartition => "UnknownTopicOrPartitionException",
            Samsa.Protocol.ErrorCode.CoordinatorNotAvailable => "CoordinatorNotAvailableException",
            Samsa.Protocol.ErrorCode.UnknownMemberId => "UnknownMemberIdException",
            Samsa.Protocol.ErrorCode.GroupAuthorizationFailed => "GroupAuthorizationException",
            Samsa.Protocol.ErrorCode.TopicAuthorizationFailed => "TopicAuthorizationException",
            _ => code + "Exception",
        };
        return $"org.apache.kafka.common.errors.{name}: {Samsa.Protocol.ErrorCodes.DefaultMessage(code)}";
    }

    public static string Describe(Exception e) => e switch
    {
        CommandFailure => e.Message,
        KafkaException k => Describe(k.Error),
        _ => e.Message,
    };
}
