using System.Net;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Controller;

/// <summary>
/// Client quotas (Kafka's <c>ClientQuotaControlManager</c>, KIP-546): AlterClientQuotas becomes ClientQuotaRecords.
/// An entity names user and/or client-id (byte rates, request percentage, controller mutation rate) or an ip alone
/// (connection creation rate); each name is a name or null for the type's default. Each entity succeeds or fails as
/// a whole with INVALID_REQUEST and Kafka's message; a value equal to the current one writes nothing, and removing a
/// key that is not set writes nothing. validate_only answers the same and writes nothing.
/// </summary>
public static class ClientQuotaControlManager
{
    public const string ProducerByteRate = "producer_byte_rate";
    public const string ConsumerByteRate = "consumer_byte_rate";
    public const string RequestPercentage = "request_percentage";
    public const string ControllerMutationRate = "controller_mutation_rate";
    public const string ConnectionCreationRate = "connection_creation_rate";

    private enum QuotaType { Long, Double, Int }

    /// <summary>Kafka's <c>QuotaConfig.userAndClientQuotaConfigs</c>: the keys a user or client-id entity takes, and their types.</summary>
    private static readonly Dictionary<string, QuotaType> UserAndClientKeys = new(StringComparer.Ordinal)
    {
        [ProducerByteRate] = QuotaType.Long,
        [ConsumerByteRate] = QuotaType.Long,
        [RequestPercentage] = QuotaType.Double,
        [ControllerMutationRate] = QuotaType.Double,
    };

    /// <summary>Kafka's <c>QuotaConfig.ipConfigs</c>.</summary>
    private static readonly Dictionary<string, QuotaType> IpKeys = new(StringComparer.Ordinal)
    {
        [ConnectionCreationRate] = QuotaType.Int,
    };

    public static ControllerResult<AlterClientQuotasResponse> AlterClientQuotas(MetadataImage image, AlterClientQuotasRequest request)
    {
        var records = new List<MetadataRecord>();
        var response = new AlterClientQuotasResponse();
        var seen = new HashSet<ClientQuotaEntity>();
        foreach (var entry in request.Entries)
        {
            var answer = new AlterClientQuotasResponse.EntryData
            {
                ErrorMessage = null,
                Entity = [.. entry.Entity.Select(e => new AlterClientQuotasResponse.EntityData { EntityType = e.EntityType, EntityName = e.EntityName })],
            };
            response.Entries.Add(answer);
            var error = Alter(image, entry, seen, request.ValidateOnly ? null : records);
            if (error is { } e)
            {
                answer.ErrorCode = (short)e.Error;
                answer.ErrorMessage = e.Message;
            }
        }
        return new ControllerResult<AlterClientQuotasResponse>(records, response);
    }

    private static ApiError? Alter(MetadataImage image, AlterClientQuotasRequest.EntryData entry, HashSet<ClientQuotaEntity> seen, List<MetadataRecord>? records)
    {
        if (ValidateEntity(entry.Entity) is { } entityError)
        {
            return entityError;
        }
        var entity = ClientQuotaEntity.From(entry.Entity.Select(e => (e.EntityType, e.EntityName)))!.Value;
        if (!seen.Add(entity))
        {
            return Invalid($"Ignoring duplicate entity {entity}");
        }
        var keys = entity.HasIp ? IpKeys : UserAndClientKeys;
        if (entity.HasIp && (entity.HasUser || entity.HasClientId))
        {
            // Kafka's message, missing space included.
            return Invalid("Invalid quota entity combination, IP entity should" + "not be combined with User or ClientId");
        }
        if (entity.HasIp && entity.Ip is { } ip && !IPAddress.TryParse(ip, out _))
        {
            // Kafka also accepts a resolvable host name; resolving from the controller's event thread would block it.
            return Invalid($"{ip} is not a valid IP or resolvable host.");
        }
        var ops = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var op in entry.Ops)
        {
            if (!ops.TryAdd(op.Key, op.Remove ? null : op.Value))
            {
                return Invalid($"Duplicate quota key {op.Key} not updating quota for this entity {entity}");
            }
        }
        image.ClientQuotas.TryGetValue(entity, out var current);
        var pending = new List<MetadataRecord>(ops.Count);
        foreach (var (key, value) in ops)
        {
            if (value is not { } newValue)
            {
                if (current?.ContainsKey(key) == true)
                {
                    pending.Add(MetadataRecord.Of(MetadataSnapshots.ClientQuotaRecordOf(entity, key, 0, remove: true)));
                }
                continue;
            }
            if (ValidateValue(keys, key, newValue) is { } valueError)
            {
                return valueError;
            }
            if (current is null || !current.TryGetValue(key, out var old) || !old.Equals(newValue))
            {
                pending.Add(MetadataRecord.Of(MetadataSnapshots.ClientQuotaRecordOf(entity, key, newValue, remove: false)));
            }
        }
        records?.AddRange(pending);
        return null;
    }

    /// <summary>Kafka's <c>validateEntity</c>: known types, each once, no empty names.</summary>
    private static ApiError? ValidateEntity(List<AlterClientQuotasRequest.EntityData> components)
    {
        if (components.Count == 0)
        {
            return Invalid("Invalid empty client quota entity");
        }
        var types = new HashSet<string>(StringComparer.Ordinal);
        foreach (var component in components)
        {
            if (!types.Add(component.EntityType))
            {
                return Invalid($"Invalid client quota entity, duplicate entity entry {component.EntityType}");
            }
            if (component.EntityType is not (ClientQuotaEntity.UserType or ClientQuotaEntity.ClientIdType or ClientQuotaEntity.IpType))
            {
                return Invalid($"Unhandled client quota entity type: {component.EntityType}");
            }
            if (component.EntityName is { Length: 0 })
            {
                return Invalid($"Empty {component.EntityType} not supported");
            }
        }
        return null;
    }

    /// <summary>Kafka's <c>validateQuotaKeyValue</c>: a key the entity takes, above 0, integral where the key is.</summary>
    private static ApiError? ValidateValue(Dictionary<string, QuotaType> keys, string key, double value)
    {
        if (!keys.TryGetValue(key, out var type))
        {
            return Invalid($"Invalid configuration key {key}");
        }
        if (value <= 0.0)
        {
            return Invalid($"Quota {key} must be greater than 0");
        }
        return type switch
        {
            QuotaType.Int when value > int.MaxValue => Invalid($"Proposed value for {key} is too large for an INT."),
            QuotaType.Long when value > long.MaxValue => Invalid($"Proposed value for {key} is too large for a LONG."),
            QuotaType.Int or QuotaType.Long when Math.Abs(value % 1.0) > 1e-6 => Invalid($"{key} cannot be a fractional value."),
            _ => null,
        };
    }

    private static ApiError Invalid(string message) => new(ErrorCode.InvalidRequest, message);
}
