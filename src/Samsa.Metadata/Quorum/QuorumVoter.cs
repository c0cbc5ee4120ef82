using System.Globalization;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Quorum;

/// <summary>One listener of a voter: the (upper-cased) listener name, host and port, as a VotersRecord endpoint.</summary>
public sealed record VoterEndpoint(string Name, string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"{Name}://[{Host}]:{Port}" : $"{Name}://{Host}:{Port}";
}

/// <summary>
/// One voter of the controller quorum as KIP-853 knows it (Kafka's <c>VoterSet.VoterNode</c>): node id, the
/// directory id of its metadata log dir (<see cref="Uuid.Zero"/> when unknown, as for static
/// <c>controller.quorum.voters</c>), and its controller endpoints.
/// </summary>
public sealed record QuorumVoter(int Id, Uuid DirectoryId, IReadOnlyList<VoterEndpoint> Endpoints)
{
    /// <summary>A voter known by id only (what a VotersRecord written from a bare id set holds).</summary>
    public static QuorumVoter OfId(int id) => new(id, Uuid.Zero, []);

    public bool Equals(QuorumVoter? other) =>
        other is not null && Id == other.Id && DirectoryId == other.DirectoryId && Endpoints.SequenceEqual(other.Endpoints);

    public override int GetHashCode() => HashCode.Combine(Id, DirectoryId, Endpoints.Count);

    public override string ToString() => $"{Id}:{DirectoryId}[{string.Join(",", Endpoints)}]";

    /// <summary>
    /// Parses <c>controller.quorum.voters</c> (Kafka's <c>QuorumConfig.parseVoterConnections</c>):
    /// <c>id@host:port</c> entries separated by commas, IPv6 hosts in brackets. Static voters have no directory id;
    /// their endpoints are named by <paramref name="listenerName"/> (the first of <c>controller.listener.names</c>).
    /// </summary>
    public static IReadOnlyList<QuorumVoter> ParseStatic(string value, string listenerName)
    {
        var voters = new SortedDictionary<int, QuorumVoter>();
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var at = entry.IndexOf('@', StringComparison.Ordinal);
            var colon = entry.LastIndexOf(':');
            if (at <= 0 || colon < at
                || !int.TryParse(entry.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || !int.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                throw new FormatException($"Invalid value {value} for configuration controller.quorum.voters: Unable to parse {entry} as id@host:port");
            }
            var host = entry[(at + 1)..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }
            if (!voters.TryAdd(id, new QuorumVoter(id, Uuid.Zero, [new VoterEndpoint(listenerName.ToUpperInvariant(), host, port)])))
            {
                throw new FormatException($"Invalid value {value} for configuration controller.quorum.voters: node id {id} appears more than once");
            }
        }
        return [.. voters.Values];
    }

    /// <summary>
    /// Parses <c>kafka-storage.sh format --initial-controllers</c> (Kafka's <c>DynamicVoters.parse</c>):
    /// <c>id@host:port:directoryId</c> entries separated by commas, the directory id a base64 Kafka UUID, IPv6 hosts
    /// in brackets. Endpoints are named by <paramref name="listenerName"/>. Errors carry Kafka's messages.
    /// </summary>
    public static IReadOnlyList<QuorumVoter> ParseInitialControllers(string value, string listenerName)
    {
        var voters = new SortedDictionary<int, QuorumVoter>();
        foreach (var entry in value.Trim().Split(','))
        {
            if (entry.Length == 0)
            {
                continue;
            }
            var voter = ParseDynamic(entry.Trim(), listenerName.ToUpperInvariant());
            if (!voters.TryAdd(voter.Id, voter))
            {
                throw new FormatException($"Node id {voter.Id} was specified more than once.");
            }
        }
        if (voters.Count == 0)
        {
            throw new FormatException("No voters given.");
        }
        return [.. voters.Values];
    }

    private static QuorumVoter ParseDynamic(string input, string listenerName)
    {
        var at = input.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            throw new FormatException("No @ found in dynamic voter string.");
        }
        if (at == 0)
        {
            throw new FormatException("Invalid @ at beginning of dynamic voter string.");
        }
        if (!int.TryParse(input.AsSpan(0, at), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
        {
            throw new FormatException("Failed to parse node id in dynamic voter string.");
        }
        if (id < 0)
        {
            throw new FormatException($"Invalid negative node id {id} in dynamic voter string.");
        }
        var rest = input[(at + 1)..];
        if (rest.Length == 0)
        {
            throw new FormatException("No hostname found after node id.");
        }
        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException("Hostname began with left bracket, but no right bracket was found.");
            }
            host = rest[1..close];
            rest = rest[(close + 1)..];
        }
        else
        {
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new FormatException("No colon following hostname could be found.");
            }
            host = rest[..colon];
            rest = rest[colon..];
        }
        if (!rest.StartsWith(':'))
        {
            throw new FormatException("Port section must start with a colon.");
        }
        rest = rest[1..];
        var portEnd = rest.IndexOf(':', StringComparison.Ordinal);
        if (portEnd < 0)
        {
            throw new FormatException("No colon following port could be found.");
        }
        if (!int.TryParse(rest.AsSpan(0, portEnd), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var port))
        {
            throw new FormatException("Failed to parse port in dynamic voter string.");
        }
        if (port is < 0 or > 65535)
        {
            throw new FormatException($"Invalid port {port} in dynamic voter string.");
        }
        if (!Uuid.TryParse(rest[(portEnd + 1)..], out var directoryId))
        {
            throw new FormatException("Failed to parse directory ID in dynamic voter string.");
        }
        return new QuorumVoter(id, directoryId, [new VoterEndpoint(listenerName, host, port)]);
    }

    /// <summary>The voters as a VotersRecord v0 (Kafka's <c>VoterSet.toVotersRecord</c>): by id, each supporting kraft.version 0..1.</summary>
    public static VotersRecord ToRecord(IEnumerable<QuorumVoter> voters) => new()
    {
        Version = 0,
        Voters = voters.OrderBy(v => v.Id).Select(v => new VotersRecord.Voter
        {
            VoterId = v.Id,
            VoterDirectoryId = v.DirectoryId,
            Endpoints = v.Endpoints.Select(e => new VotersRecord.Endpoint { Name = e.Name, Host = e.Host, Port = (ushort)e.Port }).ToList(),
            KRaftVersionFeature = new VotersRecord.KRaftVersionFeature { MinSupportedVersion = 0, MaxSupportedVersion = 1 },
        }).ToList(),
    };

    /// <summary>The voters a VotersRecord holds, by id.</summary>
    public static IReadOnlyList<QuorumVoter> FromRecord(VotersRecord record) =>
        [.. record.Voters
            .Select(v => new QuorumVoter(v.VoterId, v.VoterDirectoryId, [.. v.Endpoints.Select(e => new VoterEndpoint(e.Name, e.Host, e.Port))]))
            .OrderBy(v => v.Id)];
}
