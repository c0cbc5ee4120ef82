using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;
using IncrementalRequest = Samsa.Protocol.Messages.IncrementalAlterConfigsRequest;
using IncrementalResponse = Samsa.Protocol.Messages.IncrementalAlterConfigsResponse;
using LegacyRequest = Samsa.Protocol.Messages.AlterConfigsRequest;
using LegacyResponse = Samsa.Protocol.Messages.AlterConfigsResponse;

namespace Samsa.Metadata.Controller;

/// <summary>
/// Dynamic config decisions of the controller (Kafka's <c>ConfigurationControlManager</c>): topic configs, dynamic
/// broker configs, per broker (resource name = broker id) or cluster-wide (resource name ""), and group configs
/// (KIP-848, resource name = group id). Both IncrementalAlterConfigs (SET/DELETE/APPEND/SUBTRACT) and the legacy
/// AlterConfigs (replace the whole set) become ConfigRecords; a null value removes a key. Broker and group keys are
/// checked by the broker's tables through <see cref="ControllerOptions"/>, as Kafka's broker checks them before forwarding.
/// </summary>
public static class ConfigurationControlManager
{
    public enum OpType : sbyte
    {
        Set = 0,
        Delete = 1,
        Append = 2,
        Subtract = 3,
    }

    public static ControllerResult<IncrementalResponse> IncrementalAlter(MetadataImage image, IncrementalRequest request, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        var response = new IncrementalResponse();
        foreach (var resource in request.Resources)
        {
            var key = new ConfigResource((ConfigResourceType)resource.ResourceType, resource.ResourceName);
            var changes = new List<(string Name, OpType Op, string? Value)>();
            foreach (var c in resource.Configs)
            {
                changes.Add((c.Name, (OpType)c.ConfigOperation, c.Value));
            }
            var (code, message) = Alter(image, key, changes, replaceAll: false, options, request.ValidateOnly ? null : records);
            response.Responses.Add(new IncrementalResponse.AlterConfigsResourceResponse
            {
                ErrorCode = (short)code,
                ErrorMessage = message,
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
            });
        }
        return new ControllerResult<IncrementalResponse>(records, response);
    }

    public static ControllerResult<LegacyResponse> LegacyAlter(MetadataImage image, LegacyRequest request, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        var response = new LegacyResponse();
        foreach (var resource in request.Resources)
        {
            var key = new ConfigResource((ConfigResourceType)resource.ResourceType, resource.ResourceName);
            var changes = resource.Configs.Select(c => (c.Name, OpType.Set, c.Value)).ToList();
            var (code, message) = Alter(image, key, changes, replaceAll: true, options, request.ValidateOnly ? null : records);
            response.Responses.Add(new LegacyResponse.AlterConfigsResourceResponse
            {
                ErrorCode = (short)code,
                ErrorMessage = message,
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
            });
        }
        return new ControllerResult<LegacyResponse>(records, response);
    }

    /// <summary>Validates one resource's changes; on success appends its ConfigRecords to <paramref name="records"/> (unless validating only).</summary>
    private static (ErrorCode, string?) Alter(MetadataImage image, ConfigResource resource, List<(string Name, OpType Op, string? Value)> changes,
        bool replaceAll, ControllerOptions options, List<MetadataRecord>? records)
    {
        switch (resource.Type)
        {
            case ConfigResourceType.Topic:
                if (TopicName.Validate(resource.Name) is { } invalid)
                {
                    return (ErrorCode.InvalidTopicException, invalid);
                }
                if (!image.Topics.ContainsKey(resource.Name))
                {
                    return (ErrorCode.UnknownTopicOrPartition, $"The topic '{resource.Name}' does not exist.");
                }
                break;
            case ConfigResourceType.Broker:
                if (resource.Name.Length > 0 && (!int.TryParse(resource.Name, out var id) || id < 0))
                {
                    return (ErrorCode.InvalidRequest, $"Illegal broker id {resource.Name}");
                }
                break;
            case ConfigResourceType.Group when resource.Name.Length == 0:
                return (ErrorCode.InvalidRequest, "Group name must not be empty.");
            case ConfigResourceType.Group:
                break;
            default:
                return (ErrorCode.InvalidRequest, $"Unsupported resource type {resource.Type} for altering configs.");
        }
        if (changes.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            return (ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {duplicate.Key}");
        }

        var current = image.ConfigsOf(resource);
        var next = replaceAll ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (name, op, value) in changes)
        {
            var isList = resource.Type switch
            {
                ConfigResourceType.Topic => TopicConfigs.Find(name)?.Type == TopicConfigType.List,
                ConfigResourceType.Broker => options.BrokerListDefault(name) is not null,
                _ => false,
            };
            switch (op)
            {
                case OpType.Set when value is null:
                    return (ErrorCode.InvalidRequest, $"Null value not supported for : {name}");
                case OpType.Set:
                    next[name] = value.Trim();
                    break;
                case OpType.Delete:
                    next.Remove(name);
                    break;
                case OpType.Append or OpType.Subtract when !isList:
                    return (ErrorCode.InvalidConfig, $"Can't {op.ToString().ToUpperInvariant()} to key {name} because its type is not LIST.");
                case OpType.Append or OpType.Subtract:
                    var items = (next.TryGetValue(name, out var existing) ? existing : DefaultOf(resource, name, options) ?? "")
                        .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                    var operands = (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    if (op == OpType.Append)
                    {
                        items.AddRange(operands.Where(o => !items.Contains(o)));
                    }
                    else
                    {
                        items.RemoveAll(operands.Contains);
                    }
                    next[name] = string.Join(",", items);
                    break;
                default:
                    return (ErrorCode.InvalidRequest, $"Unknown config operation {(sbyte)op} for {name}");
            }
        }

        var changed = next.Where(c => !current.TryGetValue(c.Key, out var old) || old != c.Value).ToDictionary(StringComparer.Ordinal);
        switch (resource.Type)
        {
            case ConfigResourceType.Topic:
                foreach (var (name, value) in changed)
                {
                    if (TopicConfigs.Validate([new(name, value)]) is { } error)
                    {
                        return (ErrorCode.InvalidConfig, error);
                    }
                }
                break;
            case ConfigResourceType.Broker when options.ValidateBrokerConfigs(changed, resource.Name.Length > 0) is { } refused:
                return refused;
            case ConfigResourceType.Group when options.ValidateGroupConfigs(next) is { } error:
                return (ErrorCode.InvalidConfig, error);
        }
        if (resource.Type == ConfigResourceType.Topic && changes.FirstOrDefault(c => c.Op == OpType.Delete && TopicConfigs.Find(c.Name) is null) is { Name: not null } unknown)
        {
            return (ErrorCode.InvalidConfig, $"Unknown topic config name: {unknown.Name}");
        }

        if (records is not null)
        {
            foreach (var (name, value) in next)
            {
                if (!current.TryGetValue(name, out var old) || old != value)
                {
                    records.Add(Record(resource, name, value));
                }
            }
            foreach (var name in current.Keys.Where(k => !next.ContainsKey(k)))
            {
                records.Add(Record(resource, name, null));
            }
        }
        return (ErrorCode.None, null);
    }

    /// <summary>What APPEND and SUBTRACT start from when the resource has no value yet: the config's default (Kafka's <c>getParts</c>).</summary>
    private static string? DefaultOf(ConfigResource resource, string name, ControllerOptions options) => resource.Type switch
    {
        ConfigResourceType.Topic => TopicConfigs.Find(name)?.Default,
        ConfigResourceType.Broker => options.BrokerListDefault(name),
        _ => null,
    };

    private static MetadataRecord Record(ConfigResource resource, string name, string? value) =>
        MetadataRecord.Of(new ConfigRecord { ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = name, Value = value });
}
