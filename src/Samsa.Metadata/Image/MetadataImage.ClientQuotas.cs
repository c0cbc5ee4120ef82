using System.Collections.Immutable;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Image;

/// <summary>
/// A client quota entity (Kafka's <c>ClientQuotaEntity</c>): which of user, client-id and ip it names, each with a
/// name or null for that type's default. The types come in a fixed order, so two records naming the same entity
/// in a different order are one entity. A value type, so the broker looks quotas up without allocating.
/// </summary>
public readonly record struct ClientQuotaEntity(bool HasUser, string? User, bool HasClientId, string? ClientId, bool HasIp, string? Ip)
    : IComparable<ClientQuotaEntity>
{
    public const string UserType = "user";
    public const string ClientIdType = "client-id";
    public const string IpType = "ip";

    public static ClientQuotaEntity OfUser(string? user) => new(true, user, false, null, false, null);

    public static ClientQuotaEntity OfClientId(string? clientId) => new(false, null, true, clientId, false, null);

    public static ClientQuotaEntity OfUserAndClientId(string? user, string? clientId) => new(true, user, true, clientId, false, null);

    public static ClientQuotaEntity OfIp(string? ip) => new(false, null, false, null, true, ip);

    /// <summary>The (type, name) pairs in Kafka's order: user, client-id, ip.</summary>
    public IEnumerable<(string Type, string? Name)> Components()
    {
        if (HasUser)
        {
            yield return (UserType, User);
        }
        if (HasClientId)
        {
            yield return (ClientIdType, ClientId);
        }
        if (HasIp)
        {
            yield return (IpType, Ip);
        }
    }

    /// <summary>The entity a record or request names, or null when a type is unknown or repeated.</summary>
    public static ClientQuotaEntity? From(IEnumerable<(string Type, string? Name)> components)
    {
        var entity = default(ClientQuotaEntity);
        foreach (var (type, name) in components)
        {
            switch (type)
            {
                case UserType when !entity.HasUser:
                    entity = entity with { HasUser = true, User = name };
                    break;
                case ClientIdType when !entity.HasClientId:
                    entity = entity with { HasClientId = true, ClientId = name };
                    break;
                case IpType when !entity.HasIp:
                    entity = entity with { HasIp = true, Ip = name };
                    break;
                default:
                    return null;
            }
        }
        return entity;
    }

    /// <summary>Orders snapshots and describe answers: by type presence, then names (default first).</summary>
    public int CompareTo(ClientQuotaEntity other)
    {
        var c = Compare(HasUser, User, other.HasUser, other.User);
        if (c == 0)
        {
            c = Compare(HasClientId, ClientId, other.HasClientId, other.ClientId);
        }
        return c != 0 ? c : Compare(HasIp, Ip, other.HasIp, other.Ip);
    }

    private static int Compare(bool has, string? name, bool otherHas, string? otherName) =>
        has != otherHas ? has.CompareTo(otherHas) : string.CompareOrdinal(name, otherName);

    /// <summary>Kafka's <c>ClientQuotaEntity.toString</c>, used in its error messages.</summary>
    public override string ToString() =>
        $"ClientQuotaEntity(entries={{{string.Join(", ", Components().Select(c => $"{c.Type}={c.Name ?? "null"}"))}}})";
}

public sealed partial record MetadataImage
{
    /// <summary>
    /// Client quotas (Kafka's <c>ClientQuotasImage</c>): entity -> quota key -> value, from ClientQuotaRecord. Replaced
    /// only when a quota record is replayed, so the broker's quota manager keys its resolution cache on the reference.
    /// </summary>
    public ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> ClientQuotas { get; init; } =
        ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>>.Empty;

    /// <summary>The value of <paramref name="key"/> set on exactly <paramref name="entity"/>, if any.</summary>
    public bool TryGetClientQuota(in ClientQuotaEntity entity, string key, out double value)
    {
        value = 0;
        return ClientQuotas.TryGetValue(entity, out var values) && values.TryGetValue(key, out value);
    }
}

public sealed partial class MetadataDelta
{
    private ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>>.Builder? _clientQuotas;

    /// <summary>As Kafka's <c>ClientQuotasDelta.replay</c>: a remove drops the key, and an entity left with no keys goes.</summary>
    private void ReplayClientQuota(ClientQuotaRecord record, long offset)
    {
        var entity = ClientQuotaEntity.From(record.Entity.Select(e => (e.EntityType, e.EntityName)))
            ?? throw new InvalidOperationException($"ClientQuotaRecord at offset {offset} names an invalid entity");
        _clientQuotas ??= Image.ClientQuotas.ToBuilder();
        var values = _clientQuotas.TryGetValue(entity, out var existing) ? existing : ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal);
        values = record.Remove ? values.Remove(record.Key) : values.SetItem(record.Key, record.Value);
        if (values.IsEmpty)
        {
            _clientQuotas.Remove(entity);
        }
        else
        {
            _clientQuotas[entity] = values;
        }
    }

    private ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> ApplyClientQuotas() =>
        _clientQuotas?.ToImmutable() ?? Image.ClientQuotas;
}
