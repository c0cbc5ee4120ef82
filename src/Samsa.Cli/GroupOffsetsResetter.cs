using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Samsa.Cli;

/// <summary>
/// <c>kafka-consumer-groups.sh --reset-offsets</c> (Kafka's <c>GroupOffsetsResetter</c>): works out the new offset of
/// every partition in scope for each inactive group, commits them with <c>--execute</c>, and prints the plan as
/// Kafka's table or CSV. Kafka keeps groups and partitions in Java HashMaps, so both print in HashMap order.
/// </summary>
internal sealed class GroupOffsetsResetter(IAdminClient admin, TimeSpan timeout, GroupOffsetsResetter.Options options)
{
    public sealed record Options(
        List<string> Groups, bool AllTopics, List<string> Topics, long? ToOffset, bool ToEarliest, bool ToLatest, bool ToCurrent,
        long? ShiftBy, string? ToDatetime, string? ByDuration, string? FromFile);

    public sealed record GroupPlan(string Group, List<(TopicPartition Partition, long Offset)> Offsets);

    public async Task<List<GroupPlan>> ResetAsync(IReadOnlyList<string> groups, bool dryRun)
    {
        var ids = groups.Distinct().ToList();
        var described = new Dictionary<string, ConsumerGroupDescription>();
        if (ids.Count > 0)
        {
            List<ConsumerGroupDescription> descriptions;
            try
            {
                descriptions = (await admin.DescribeConsumerGroupsAsync(ids, new DescribeConsumerGroupsOptions { RequestTimeout = timeout })).ConsumerGroupDescriptions;
            }
            catch (DescribeConsumerGroupsException e)
            {
                descriptions = e.Results.ConsumerGroupDescriptions;
            }
            described = descriptions.ToDictionary(d => d.GroupId);
        }
        var plans = new List<GroupPlan>();
        foreach (var group in JavaHashOrder.OrderDefault(ids, g => g))
        {
            var d = described[group];
            var state = d.Error.Code == Confluent.Kafka.ErrorCode.GroupIdNotFound ? "Dead"
                : d.Error.IsError ? throw new KafkaException(d.Error)
                : ConsumerGroupsCommand.StateName(d.State);
            if (state is "Empty" or "Dead")
            {
                plans.Add(new GroupPlan(group, await ResetInactiveGroupAsync(group, dryRun)));
            }
            else
            {
                Console.Out.WriteLine($"\nError: Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}.");
                plans.Add(new GroupPlan(group, []));
            }
        }
        return plans;
    }

    private async Task<List<(TopicPartition, long)>> ResetInactiveGroupAsync(string group, bool dryRun)
    {
        List<TopicPartition> partitions;
        if (options.AllTopics)
        {
            partitions = [.. (await CommittedAsync(group)).Keys];
        }
        else if (options.Topics.Count > 0)
        {
            partitions = PartitionsToReset(options.Topics);
        }
        else if (options.FromFile is null)
        {
            throw new CommandException("One of the reset scopes should be defined: --all-topics, --topic.");
        }
        else
        {
            partitions = [];
        }
        var prepared = await PrepareAsync(group, partitions);
        var ordered = JavaHashOrder.OrderByTopicPartition(prepared.ToList(), p => (p.Key.Topic, p.Key.Partition.Value)).Select(p => (p.Key, p.Value)).ToList();
        if (!dryRun && ordered.Count > 0)
        {
            try
            {
                await admin.AlterConsumerGroupOffsetsAsync(
                    [new ConsumerGroupTopicPartitionOffsets(group, [.. ordered.Select(p => new TopicPartitionOffset(p.Key, p.Value))])],
                    new AlterConsumerGroupOffsetsOptions { RequestTimeout = timeout });
            }
            catch (AlterConsumerGroupOffsetsException e)
            {
                var report = e.Results.First();
                throw new KafkaException(report.Error.IsError ? report.Error : report.Partitions.First(p => p.Error.IsError).Error);
            }
        }
        return ordered;
    }

    private async Task<Dictionary<TopicPartition, long>> PrepareAsync(string group, List<TopicPartition> partitions)
    {
        CheckAllTopicPartitionsValid(partitions);
        if (options.ToOffset is { } offset)
        {
            return await CheckOffsetsRangeAsync(partitions.Distinct().ToDictionary(tp => tp, _ => offset));
        }
        if (options.ToEarliest)
        {
            return await Required(partitions, OffsetSpec.Earliest(), "Error getting starting offset of topic partition: ");
        }
        if (options.ToLatest)
        {
            return await Required(partitions, OffsetSpec.Latest(), "Error getting ending offset of topic partition: ");
        }
        if (options.ShiftBy is { } shift)
        {
            var committed = await CommittedAsync(group);
            var requested = new Dictionary<TopicPartition, long>();
            foreach (var tp in partitions)
            {
                requested[tp] = committed.TryGetValue(tp, out var current)
                    ? current + shift
                    : throw new CommandException($"Cannot shift offset for partition {Name(tp)} since there is no current committed offset");
            }
            return await CheckOffsetsRangeAsync(requested);
        }
        if (options.ToDatetime is { } datetime)
        {
            return await TimestampOffsetsAsync(partitions, ParseDateTime(datetime));
        }
        if (options.ByDuration is { } duration)
        {
            return await TimestampOffsetsAsync(partitions, DateTimeOffset.UtcNow.Add(-ParseDuration(duration)).ToUnixTimeMilliseconds());
        }
        if (options.FromFile is { } file)
        {
            var plan = ParseResetPlan(File.ReadAllText(file));
            if (!plan.TryGetValue(group, out var forGroup))
            {
                Console.Out.WriteLine($"\nError: No reset plan for group {group} found.");
                return [];
            }
            return await CheckOffsetsRangeAsync(forGroup);
        }
        if (options.ToCurrent)
        {
            var committed = await CommittedAsync(group);
            var result = partitions.Where(committed.ContainsKey).Distinct().ToDictionary(tp => tp, tp => committed[tp]);
            var withoutCommit = partitions.Where(tp => !committed.ContainsKey(tp)).ToList();
            foreach (var (tp, end) in await Required(withoutCommit, OffsetSpec.Latest(), "Error getting ending offset of topic partition: "))
            {
                result[tp] = end;
            }
            return result;
        }
        throw new CommandException("Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], [to-current], [to-datetime], [from-file], [by-duration], [to-earliest], [to-latest], [shift-by]]");
    }

    private static string Name(TopicPartition tp) => $"{tp.Topic}-{tp.Partition.Value}";

    private async Task<Dictionary<TopicPartition, long>> CommittedAsync(string group)
    {
        var result = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, null)], new ListConsumerGroupOffsetsOptions { RequestTimeout = timeout });
        return result.SelectMany(r => r.Partitions).Where(p => p.Offset.Value >= 0).ToDictionary(p => p.TopicPartition, p => p.Offset.Value);
    }

    private Task<Dictionary<TopicPartition, long>> OffsetsAsync(IEnumerable<TopicPartition> partitions, OffsetSpec spec) =>
        ConsumerGroupsCommand.ListOffsetsAsync(admin, partitions, spec, timeout);

    private async Task<Dictionary<TopicPartition, long>> Required(List<TopicPartition> partitions, OffsetSpec spec, string error)
    {
        var offsets = await OffsetsAsync(partitions, spec);
        return partitions.Distinct().ToDictionary(tp => tp, tp => offsets.TryGetValue(tp, out var o) ? o : throw new CommandException(error + Name(tp)));
    }

    /// <summary>Kafka clamps a requested offset into [log start, log end].</summary>
    private async Task<Dictionary<TopicPartition, long>> CheckOffsetsRangeAsync(Dictionary<TopicPartition, long> requested)
    {
        var starts = await OffsetsAsync(requested.Keys, OffsetSpec.Earliest());
        var ends = await OffsetsAsync(requested.Keys, OffsetSpec.Latest());
        return requested.ToDictionary(r => r.Key, r =>
        {
            if (!ends.TryGetValue(r.Key, out var end))
            {
                throw new CommandFailure($"Unexpected non-existing offset value for topic partition {Name(r.Key)}");
            }
            return r.Value > end ? end : starts.TryGetValue(r.Key, out var start) && r.Value < start ? start : r.Value;
        });
    }

    /// <summary>The first offset at or after the timestamp; an empty answer falls back to the log end with Kafka's warning.</summary>
    private async Task<Dictionary<TopicPartition, long>> TimestampOffsetsAsync(List<TopicPartition> partitions, long timestamp)
    {
        var found = await OffsetsAsync(partitions, OffsetSpec.ForTimestamp(timestamp));
        var result = new Dictionary<TopicPartition, long>();
        var empty = new List<TopicPartition>();
        foreach (var tp in partitions.Distinct())
        {
            if (found.TryGetValue(tp, out var offset) && offset >= 0)
            {
                result[tp] = offset;
            }
            else
            {
                empty.Add(tp);
            }
        }
        foreach (var tp in empty)
        {
            Console.Out.WriteLine($"\nWarn: Partition {tp.Partition.Value} from topic {tp.Topic} is empty. Falling back to latest known offset.");
        }
        foreach (var (tp, end) in await Required(empty, OffsetSpec.Latest(), "Error getting offset by timestamp of topic partition: "))
        {
            result[tp] = end;
        }
        return result;
    }

    /// <summary>Kafka's <c>Utils.getDateTime</c>: ISO 8601 with milliseconds, UTC when no zone is given.</summary>
    internal static long ParseDateTime(string text)
    {
        if (text.Split('T').Length < 2)
        {
            throw new CommandFailure("java.text.ParseException: Error parsing timestamp. It does not contain a 'T' according to ISO8601 format");
        }
        var time = text.Split('T')[1];
        var withZone = time.Contains('+', StringComparison.Ordinal) || time.Contains('-', StringComparison.Ordinal) || time.Contains('Z', StringComparison.Ordinal) ? text : text + "Z";
        return DateTimeOffset.TryParseExact(withZone, ["yyyy-MM-dd'T'HH:mm:ss.fffK", "yyyy-MM-dd'T'HH:mm:ss.fffzz"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
            ? parsed.ToUnixTimeMilliseconds()
            : throw new CommandFailure($"java.text.ParseException: Unparseable date: \"{withZone}\"");
    }

    /// <summary>Java's <c>Duration.parse</c> (<c>PnDTnHnMnS</c>).</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        try
        {
            return System.Xml.XmlConvert.ToTimeSpan(text.Trim());
        }
        catch (FormatException)
        {
            throw new CommandFailure("java.time.format.DateTimeParseException: Text cannot be parsed to a Duration");
        }
    }

    private void CheckAllTopicPartitionsValid(List<TopicPartition> partitions)
    {
        if (partitions.Count == 0)
        {
            return;
        }
        var metadata = admin.GetMetadata(timeout);
        var known = metadata.Topics.Where(t => !t.Error.IsError).ToDictionary(t => t.Topic);
        var missing = partitions.Where(tp => !known.TryGetValue(tp.Topic, out var t) || t.Partitions.All(p => p.PartitionId != tp.Partition.Value)).ToList();
        if (missing.Count > 0)
        {
            throw new CommandFailure($"The partitions \"{string.Join(",", missing.Select(Name))}\" do not exist");
        }
        var leaderless = partitions.Where(tp => known[tp.Topic].Partitions.First(p => p.PartitionId == tp.Partition.Value).Leader < 0).ToList();
        if (leaderless.Count > 0)
        {
            throw new CommandFailure($"The partitions \"{string.Join(",", leaderless.Select(Name))}\" have no leader");
        }
    }

    /// <summary><c>--topic t</c> means every partition of t; <c>--topic t:0,2</c> only those.</summary>
    private List<TopicPartition> PartitionsToReset(List<string> topics)
    {
        var result = topics.Where(t => t.Contains(':', StringComparison.Ordinal)).SelectMany(ParseTopicWithPartitions).ToList();
        var whole = topics.Where(t => !t.Contains(':', StringComparison.Ordinal)).Distinct().ToList();
        if (whole.Count > 0)
        {
            var metadata = admin.GetMetadata(timeout);
            foreach (var topic in whole)
            {
                var m = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
                if (m is null || m.Error.IsError)
                {
                    throw new CommandFailure("org.apache.kafka.common.errors.UnknownTopicOrPartitionException: " + Samsa.Protocol.ErrorCodes.DefaultMessage(Samsa.Protocol.ErrorCode.UnknownTopicOrPartition));
                }
                result.AddRange(m.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)));
            }
        }
        return result;
    }

    public static IEnumerable<TopicPartition> ParseTopicWithPartitions(string arg)
    {
        var parts = arg.Split(':');
        if (parts.Length != 2)
        {
            throw new CommandException($"Invalid topic arg '{arg}', expected topic name and partitions");
        }
        return parts[1].Split(',').Select(p => int.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? new TopicPartition(parts[0], n)
            : throw new CommandException($"Invalid partition '{p}' specified in topic arg '{arg}''")).ToList();
    }

    /// <summary>
    /// Kafka's reset plan CSV: <c>topic,partition,offset</c> lines for a single <c>--group</c>, otherwise
    /// <c>group,topic,partition,offset</c>.
    /// </summary>
    private Dictionary<string, Dictionary<TopicPartition, long>> ParseResetPlan(string csv)
    {
        var lines = csv.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var rows = lines.Select(SplitCsv).ToList();
        var oldFormat = rows.Count > 0 && rows[0].Count == 3;
        var plan = new Dictionary<string, Dictionary<TopicPartition, long>>();
        foreach (var row in rows)
        {
            var (group, fields) = options.Groups.Count == 1 && oldFormat ? (options.Groups[0], row) : row.Count == 4 ? (row[0], row.Skip(1).ToList()) : throw new CommandFailure("Invalid reset plan line: " + string.Join(",", row));
            if (fields.Count != 3 || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var partition) || !long.TryParse(fields[2], CultureInfo.InvariantCulture, out var offset))
            {
                throw new CommandFailure("Invalid reset plan line: " + string.Join(",", row));
            }
            if (!plan.TryGetValue(group, out var forGroup))
            {
                plan[group] = forGroup = [];
            }
            forGroup[new TopicPartition(fields[0], partition)] = offset;
        }
        return plan;
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        fields.Add(field.ToString());
        return fields;
    }

    private static string Csv(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    /// <summary>Kafka's <c>--export</c> CSV, one line per partition (without the group column for a single <c>--group</c>).</summary>
    public static string ExportCsv(List<GroupPlan> plans, bool singleGroup)
    {
        var output = new StringBuilder();
        foreach (var plan in plans)
        {
            foreach (var (tp, offset) in plan.Offsets)
            {
                output.Append(singleGroup ? "" : Csv(plan.Group) + ",")
                    .Append(CultureInfo.InvariantCulture, $"{Csv(tp.Topic)},{tp.Partition.Value},{offset}\n");
            }
        }
        return output.ToString();
    }

    /// <summary>Kafka's <c>printOffsetsToReset</c> table: GROUP, TOPIC, PARTITION, NEW-OFFSET.</summary>
    public static string Format(List<GroupPlan> plans)
    {
        var groupWidth = Math.Max(15, plans.Select(p => p.Group.Length).DefaultIfEmpty(0).Max());
        var topicWidth = Math.Max(15, plans.SelectMany(p => p.Offsets).Select(o => o.Partition.Topic.Length).DefaultIfEmpty(0).Max());
        string Line(string group, string topic, string partition, string offset) =>
            "\n" + group.PadRight(groupWidth) + " " + topic.PadRight(topicWidth) + " " + partition.PadRight(10) + " " + offset;
        var output = new StringBuilder();
        if (plans.Count > 0)
        {
            output.Append(Line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"));
        }
        foreach (var plan in plans)
        {
            foreach (var (tp, offset) in plan.Offsets)
            {
                output.Append(Line(plan.Group, tp.Topic, tp.Partition.Value.ToString(CultureInfo.InvariantCulture), offset.ToString(CultureInfo.InvariantCulture)));
            }
        }
        return output.Append('\n').ToString();
    }
}
