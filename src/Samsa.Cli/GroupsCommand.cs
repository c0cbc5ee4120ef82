using System.CommandLine;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa groups</c> = <c>kafka-groups.sh --list</c> (Kafka 4.0's <c>GroupsCommand</c>, KIP-1043): every group of
/// every type from ListGroups v5, filtered here by <c>--group-type</c> (with <c>--protocol</c>), <c>--protocol</c>,
/// <c>--consumer</c> (type consumer, or protocol consumer or empty), <c>--share</c> or <c>--streams</c>, printed as
/// Kafka prints it: columns left-aligned to the longest value (at least 20), the header without and each row with
/// a trailing space after the last column.
/// </summary>
internal sealed class GroupsCommand
{
    private readonly ClientOptions _client = new();
    private readonly Option<bool> _list = new("--list") { Description = "List the groups." };
    private readonly Option<string> _groupType = new("--group-type") { Description = "Filter the groups based on group type. Valid types are: 'classic', 'consumer', 'share' and 'streams'." };
    private readonly Option<string> _protocol = new("--protocol") { Description = "Filter the groups based on protocol type." };
    private readonly Option<bool> _consumer = new("--consumer") { Description = "Filter the groups to show all kinds of consumer groups, including classic and simple consumer groups. This matches group type 'consumer', and group type 'classic' where the protocol type is 'consumer' or empty." };
    private readonly Option<bool> _share = new("--share") { Description = "Filter the groups to show share groups." };
    private readonly Option<bool> _streams = new("--streams") { Description = "Filter the groups to show streams groups." };

    /// <summary>Kafka's <c>GroupType</c> names, as its <c>toString</c> prints them.</summary>
    private static readonly string[] GroupTypes = ["Classic", "Consumer", "Share", "Streams"];

    public Command Build()
    {
        var command = new Command("groups", "This tool helps to list groups of all types (kafka-groups.sh).");
        _client.AddTo(command);
        command.Add(_list);
        command.Add(_groupType);
        command.Add(_protocol);
        command.Add(_consumer);
        command.Add(_share);
        command.Add(_streams);
        command.SetAction((result, ct) => RunAsync(result, ct));
        return command;
    }

    private async Task<int> RunAsync(ParseResult r, CancellationToken cancellationToken)
    {
        string bootstrap;
        string? groupType;
        try
        {
            bootstrap = _client.Properties(r)["bootstrap.servers"];
            groupType = CheckArgs(r);
        }
        catch (CommandException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        // Failures of the listing itself go to stdout with Kafka's prefix.
        return await CommandRunner.RunAsync(() => ListAsync(r, bootstrap, groupType, cancellationToken), "Error while executing groups command : ", errorsToStdout: true);
    }

    private string? CheckArgs(ParseResult r)
    {
        if (!r.GetValue(_list))
        {
            throw new CommandException("Command must include exactly one action: --list.");
        }
        string? groupType = null;
        if (r.GetValue(_groupType) is { } type)
        {
            groupType = GroupTypes.FirstOrDefault(t => t.Equals(type, StringComparison.OrdinalIgnoreCase))
                ?? throw new CommandException("--group-type must be a valid group type.");
        }
        Exclusive(r, "consumer", _consumer, ("group-type", _groupType), ("protocol", _protocol), ("share", _share), ("streams", _streams));
        Exclusive(r, "share", _share, ("consumer", _consumer), ("group-type", _groupType), ("protocol", _protocol), ("streams", _streams));
        Exclusive(r, "streams", _streams, ("consumer", _consumer), ("group-type", _groupType), ("protocol", _protocol), ("share", _share));
        return groupType;
    }

    /// <summary>Kafka's <c>CommandLineUtils.checkInvalidArgs</c>.</summary>
    private static void Exclusive(ParseResult r, string usedName, Option<bool> used, params (string Name, Option Option)[] others)
    {
        if (!r.GetValue(used))
        {
            return;
        }
        foreach (var (name, option) in others)
        {
            if (r.GetResult(option) is { Implicit: false })
            {
                throw new CommandException($"Option \"[{usedName}]\" can't be used with option \"[{name}]\"");
            }
        }
    }

    private async Task ListAsync(ParseResult r, string bootstrap, string? groupType, CancellationToken cancellationToken)
    {
        ListGroupsResponse response;
        using (var client = await KafkaWireClient.ConnectAnyAsync(bootstrap, cancellationToken))
        {
            response = await client.SendAsync<ListGroupsResponse>(new ListGroupsRequest(), 5, cancellationToken);
        }
        if (response.ErrorCode != 0)
        {
            throw new CommandException(Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode) ?? $"Error {response.ErrorCode}");
        }
        var protocol = r.GetValue(_protocol);
        var rows = new List<string[]>();
        foreach (var group in response.Groups)
        {
            var type = GroupTypes.FirstOrDefault(t => t.Equals(group.GroupType, StringComparison.OrdinalIgnoreCase));
            if (Matches(type, group.ProtocolType, groupType, protocol, r.GetValue(_consumer), r.GetValue(_share), r.GetValue(_streams)))
            {
                rows.Add([group.GroupId, type ?? "", group.ProtocolType]);
            }
        }
        var width = rows.SelectMany(row => row).Select(item => item.Length).Append(20).Max();
        Console.WriteLine($"{"GROUP".PadRight(width)} {"TYPE".PadRight(width)} {"PROTOCOL".PadRight(width)}");
        foreach (var row in rows)
        {
            Console.WriteLine(string.Concat(row.Select(item => item.PadRight(width) + " ")));
        }
    }

    /// <summary>Kafka's <c>combinedFilter</c>: the first filter given decides.</summary>
    private static bool Matches(string? type, string protocol, string? typeFilter, string? protocolFilter, bool consumer, bool share, bool streams)
    {
        if (typeFilter is not null)
        {
            return type == typeFilter && (protocolFilter is null || protocol == protocolFilter);
        }
        if (protocolFilter is not null)
        {
            return protocol == protocolFilter;
        }
        if (consumer)
        {
            return protocol == "consumer" || protocol.Length == 0 || type == "Consumer";
        }
        if (share)
        {
            return type == "Share";
        }
        return !streams || type == "Streams";
    }
}
