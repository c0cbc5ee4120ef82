using System.CommandLine;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Scram;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;
using ScramMechanism = Samsa.Metadata.Scram.ScramMechanism;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa configs</c> = <c>kafka-configs.sh</c> (Kafka 4.0's <c>ConfigCommand</c>) for topics and brokers:
/// <c>--alter --add-config k=v[,k=[a,b]] --delete-config k</c> through IncrementalAlterConfigs, and
/// <c>--describe [--all]</c> printing Kafka's lines: <c>Dynamic configs for topic t are:</c> then
/// <c>  name=value sensitive=false synonyms={SOURCE:name=value, ...}</c>. For <c>--entity-type users</c>, SCRAM
/// credentials (KIP-554) over the wire client: <c>--add-config 'SCRAM-SHA-256=[iterations=8192,password=...]'</c>
/// (salted here with a random salt, as Kafka's AdminClient does, so the password never leaves the tool),
/// <c>--delete-config SCRAM-SHA-512</c>, and <c>--describe</c> with Kafka's lines.
/// </summary>
internal sealed class ConfigsCommand
{
    private readonly ClientOptions _client = new();
    private readonly Option<bool> _alter = new("--alter") { Description = "Alter the configuration for the entity." };
    private readonly Option<bool> _describe = new("--describe") { Description = "List configs for the given entity." };
    private readonly Option<bool> _all = new("--all") { Description = "List all configs for the given entity, including static and default ones." };
    private readonly Option<string[]> _entityType = new("--entity-type") { Description = "Type of entity (topics/brokers/users/clients)." };
    private readonly Option<string[]> _entityName = new("--entity-name") { Description = "Name of entity (topic name/broker id/user principal/client id)." };
    private readonly Option<bool> _entityDefault = new("--entity-default") { Description = "Default entity name for brokers (applies to corresponding entity type)." };
    private readonly Option<string> _topic = new("--topic") { Description = "The topic's name (same as --entity-type topics --entity-name <topic>)." };
    private readonly Option<string> _broker = new("--broker") { Description = "The broker's id (same as --entity-type brokers --entity-name <id>)." };
    private readonly Option<bool> _brokerDefaults = new("--broker-defaults") { Description = "The config defaults for all brokers." };
    private readonly Option<string[]> _addConfig = new("--add-config") { Description = "Key Value pairs of configs to add: k1=v1,k2=[v1,v2,v2],k3=v3." };
    private readonly Option<string[]> _deleteConfig = new("--delete-config") { Description = "Config keys to remove: k1,k2." };

    public Command Build()
    {
        var command = new Command("configs", "Add, remove or list topic and broker configs (kafka-configs.sh).");
        _client.AddTo(command);
        foreach (var option in new Option[] { _alter, _describe, _all, _entityType, _entityName, _entityDefault, _topic, _broker, _brokerDefaults, _addConfig, _deleteConfig })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result), "Error while executing config command with args '" + string.Join(" ", result.Tokens.Select(t => t.Value)) + "'\n", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r)
    {
        if (r.GetValue(_alter) == r.GetValue(_describe))
        {
            throw new CommandException("Command must include exactly one action: --describe, --alter");
        }
        if (r.GetValue(_entityType) is { Length: > 0 } types && (types.Contains("users") || types.Contains("clients")))
        {
            await ClientQuotaEntitiesAsync(r);
            return;
        }
        var (type, name) = Entity(r);
        using var admin = _client.CreateAdmin(r);
        if (r.GetValue(_alter))
        {
            await AlterAsync(admin, r, type, name);
        }
        else
        {
            await DescribeAsync(admin, r, type, name);
        }
    }

    private (ResourceType Type, string? Name) Entity(ParseResult r)
    {
        if (r.GetValue(_topic) is { } topic)
        {
            return (ResourceType.Topic, topic);
        }
        if (r.GetValue(_broker) is { } broker)
        {
            return (ResourceType.Broker, broker);
        }
        if (r.GetValue(_brokerDefaults))
        {
            return (ResourceType.Broker, "");
        }
        var type = r.GetValue(_entityType)?.FirstOrDefault() switch
        {
            "topics" => ResourceType.Topic,
            "brokers" => ResourceType.Broker,
            null => throw new CommandException("--entity-type must be specified"),
            var other => throw new CommandException($"Invalid entity type {other}, the entity type must be one of topics, brokers, users, clients"),
        };
        var name = r.GetValue(_entityDefault) ? "" : r.GetValue(_entityName)?.FirstOrDefault();
        if (r.GetValue(_alter) && name is null)
        {
            throw new CommandException("an entity name must be specified with --alter of topics");
        }
        return (type, name);
    }

    private async Task AlterAsync(IAdminClient admin, ParseResult r, ResourceType type, string? name)
    {
        var changes = new List<ConfigEntry>();
        foreach (var (key, value) in CommandRunner.ParsePairs(r.GetValue(_addConfig) ?? [], splitCommas: true))
        {
            changes.Add(new ConfigEntry { Name = key, Value = value, IncrementalOperation = AlterConfigOpType.Set });
        }
        foreach (var key in (r.GetValue(_deleteConfig) ?? []).SelectMany(d => d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            changes.Add(new ConfigEntry { Name = key, IncrementalOperation = AlterConfigOpType.Delete });
        }
        if (changes.Count == 0)
        {
            throw new CommandException("At least one of --add-config or --delete-config must be specified with --alter");
        }
        var resource = new ConfigResource { Type = type, Name = name! };
        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>> { [resource] = changes });
        Console.WriteLine(type == ResourceType.Broker && name!.Length == 0
            ? "Completed updating default config for brokers in the cluster."
            : $"Completed updating config for {(type == ResourceType.Topic ? "topic" : "broker")} {name}.");
    }

    private async Task DescribeAsync(IAdminClient admin, ParseResult r, ResourceType type, string? name)
    {
        var all = r.GetValue(_all);
        var names = name is not null ? [name]
            : type == ResourceType.Topic ? admin.GetMetadata(TimeSpan.FromSeconds(30)).Topics.Select(t => t.Topic).Order(StringComparer.Ordinal).ToList()
            : admin.GetMetadata(TimeSpan.FromSeconds(30)).Brokers.Select(b => b.BrokerId.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var entity in names)
        {
            var result = await admin.DescribeConfigsAsync([new ConfigResource { Type = type, Name = entity }]);
            var entries = result[0].Entries.Values
                .Where(e => all || e.Source == (type == ResourceType.Topic ? ConfigSource.DynamicTopicConfig
                    : entity.Length == 0 ? ConfigSource.DynamicDefaultBrokerConfig : ConfigSource.DynamicBrokerConfig))
                .OrderBy(e => e.Name, StringComparer.Ordinal);
            var label = type == ResourceType.Topic ? $"topic {entity}" : entity.Length == 0 ? "the default broker" : $"broker {entity}";
            Console.WriteLine($"{(all ? "All" : "Dynamic")} configs for {label} are:");
            foreach (var e in entries)
            {
                var synonyms = string.Join(", ", e.Synonyms.Select(s => $"{SourceName(s.Source)}:{s.Name}={s.Value}"));
                Console.WriteLine($"  {e.Name}={(e.IsSensitive ? "null" : e.Value)} sensitive={(e.IsSensitive ? "true" : "false")} synonyms={{{synonyms}}}");
            }
        }
    }

    /// <summary>Kafka's <c>ConfigCommand.DefaultScramIterations</c>.</summary>
    private const int DefaultScramIterations = 4096;

    private static readonly System.Text.RegularExpressions.Regex ScramCredentialPattern = new("^(?:iterations=(-?[0-9]*),)?password=(.*)$", System.Text.RegularExpressions.RegexOptions.Singleline);

    /// <summary>
    /// <c>--entity-type users</c> and/or <c>clients</c> (Kafka's <c>ConfigCommand</c> with --bootstrap-server): quota keys
    /// go to AlterClientQuotas and, for a named user alone, SCRAM mechanisms to AlterUserScramCredentials; --describe
    /// prints the entities' quotas (a strict filter: exactly these types) and then a user's SCRAM credentials.
    /// </summary>
    private async Task ClientQuotaEntitiesAsync(ParseResult r)
    {
        var entities = QuotaEntities(r);
        using var client = await KafkaWireClient.ConnectAnyAsync(_client.Properties(r), CancellationToken.None);
        var userOnly = entities is [{ Type: "users" }];
        if (r.GetValue(_alter))
        {
            if (entities.Any(e => e.Name is { Length: 0 }))
            {
                throw new CommandException("An entity name must be specified for every entity type");
            }
            var added = CommandRunner.ParsePairs(r.GetValue(_addConfig) ?? [], splitCommas: true);
            var deleted = (r.GetValue(_deleteConfig) ?? []).SelectMany(d => d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
            if (added.Count == 0 && deleted.Count == 0)
            {
                throw new CommandException("At least one of --add-config or --delete-config must be specified with --alter");
            }
            var quotaAdded = added.Where(a => QuotaKeys.Contains(a.Key)).ToList();
            var quotaDeleted = deleted.Where(QuotaKeys.Contains).ToList();
            if (userOnly && (quotaAdded.Count < added.Count || quotaDeleted.Count < deleted.Count))
            {
                await AlterUserAsync(client, entities[0].Name ?? "",
                    [.. added.Where(a => !QuotaKeys.Contains(a.Key))], [.. deleted.Where(k => !QuotaKeys.Contains(k))], printDone: quotaAdded.Count + quotaDeleted.Count == 0);
            }
            else if (quotaAdded.Count < added.Count || quotaDeleted.Count < deleted.Count)
            {
                var typeName = string.Join(", ", entities.Select(e => e.Type));
                throw new CommandException(quotaAdded.Count < added.Count
                    ? $"Only quota configs can be added for '{typeName}' using --bootstrap-server. Unexpected config names: Set({string.Join(", ", added.Where(a => !QuotaKeys.Contains(a.Key)).Select(a => a.Key))})"
                    : $"Only quota configs can be deleted for '{typeName}' using --bootstrap-server. Unexpected config names: List({string.Join(", ", deleted.Where(k => !QuotaKeys.Contains(k)))})");
            }
            if (quotaAdded.Count + quotaDeleted.Count > 0)
            {
                await AlterQuotasAsync(client, entities, quotaAdded, quotaDeleted);
            }
        }
        else
        {
            await DescribeQuotasAsync(client, entities);
            if (userOnly && entities[0].Name is not null)
            {
                // As Kafka: the default user (--entity-default) has quotas only, no SCRAM credentials to describe.
                await DescribeUsersAsync(client, entities[0].Name is { Length: > 0 } user ? user : null);
            }
        }
    }

    /// <summary>Kafka's <c>QuotaConfig</c> keys: what --add-config and --delete-config send as client quotas.</summary>
    private static readonly HashSet<string> QuotaKeys = new(StringComparer.Ordinal)
    {
        ClientQuotaControlManager.ProducerByteRate, ClientQuotaControlManager.ConsumerByteRate, ClientQuotaControlManager.RequestPercentage,
        ClientQuotaControlManager.ControllerMutationRate, ClientQuotaControlManager.ConnectionCreationRate,
    };

    /// <summary>
    /// The (type, name) pairs in command-line order, as Kafka pairs them: each --entity-name or --entity-default goes
    /// with the --entity-type at its position. A name of null is the default entity; "" means none was given.
    /// </summary>
    private static List<(string Type, string? Name)> QuotaEntities(ParseResult r)
    {
        var types = new List<string>();
        var names = new List<string?>();
        var tokens = r.Tokens.Select(t => t.Value).ToList();
        for (var i = 0; i < tokens.Count; i++)
        {
            switch (tokens[i])
            {
                case "--entity-type" when i + 1 < tokens.Count:
                    types.Add(tokens[++i]);
                    break;
                case "--entity-name" when i + 1 < tokens.Count:
                    names.Add(tokens[++i]);
                    break;
                case "--entity-default":
                    names.Add(null);
                    break;
            }
        }
        if (names.Count > types.Count)
        {
            throw new CommandException("Each --entity-name or --entity-default must follow its --entity-type");
        }
        var entities = new List<(string Type, string? Name)>();
        for (var i = 0; i < types.Count; i++)
        {
            if (types[i] is not ("users" or "clients"))
            {
                throw new CommandException($"Invalid entity type {types[i]}, the entity type must be one of topics, brokers, users, clients");
            }
            entities.Add((types[i], i < names.Count ? names[i] : ""));
        }
        return entities;
    }

    private static string QuotaType(string entityType) => entityType == "users" ? Metadata.Image.ClientQuotaEntity.UserType : Metadata.Image.ClientQuotaEntity.ClientIdType;

    private static async Task AlterQuotasAsync(KafkaWireClient client, List<(string Type, string? Name)> entities,
        List<KeyValuePair<string, string>> added, List<string> deleted)
    {
        var entry = new AlterClientQuotasRequest.EntryData
        {
            Entity = [.. entities.Select(e => new AlterClientQuotasRequest.EntityData { EntityType = QuotaType(e.Type), EntityName = e.Name })],
        };
        foreach (var (key, value) in added)
        {
            if (!double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number))
            {
                throw new CommandException($"Cannot parse quota configuration value for {key}: {value}");
            }
            entry.Ops.Add(new() { Key = key, Value = number });
        }
        foreach (var key in deleted)
        {
            entry.Ops.Add(new() { Key = key, Remove = true });
        }
        var response = await client.SendAsync<AlterClientQuotasResponse>(new AlterClientQuotasRequest { Entries = [entry] }, 1, CancellationToken.None);
        if (response.Entries.FirstOrDefault(x => x.ErrorCode != 0) is { } failed)
        {
            throw new CommandException($"org.apache.kafka.common.errors.{ExceptionName((ErrorCode)failed.ErrorCode)}: {failed.ErrorMessage ?? ErrorCodes.DefaultMessage((ErrorCode)failed.ErrorCode)}");
        }
        var (type, name) = entities[0];
        Console.WriteLine(name is not null
            ? $"Completed updating config for {type[..^1]} {name}."
            : $"Completed updating default config for {type} in the cluster.");
    }

    /// <summary>Kafka's <c>describeQuotaConfigs</c>: one line per entity matching exactly these types.</summary>
    private static async Task DescribeQuotasAsync(KafkaWireClient client, List<(string Type, string? Name)> entities)
    {
        var request = new DescribeClientQuotasRequest
        {
            Strict = true,
            Components = [.. entities.Select(e => new DescribeClientQuotasRequest.ComponentData
            {
                EntityType = QuotaType(e.Type),
                MatchType = e.Name switch { null => (sbyte)1, { Length: 0 } => (sbyte)2, _ => (sbyte)0 },
                Match = e.Name is { Length: > 0 } ? e.Name : null,
            })],
        };
        var response = await client.SendAsync<DescribeClientQuotasResponse>(request, 1, CancellationToken.None);
        if (response.ErrorCode != 0)
        {
            throw new CommandException($"org.apache.kafka.common.errors.{ExceptionName((ErrorCode)response.ErrorCode)}: {response.ErrorMessage ?? ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode)}");
        }
        foreach (var entry in response.Entries ?? [])
        {
            var entity = string.Join(", ", entry.Entity.Select(e =>
            {
                var typeName = e.EntityType switch { "user" => "user-principal", var t => t };
                return e.EntityName is null ? $"the default {typeName}" : $"{typeName} '{e.EntityName}'";
            }));
            Console.WriteLine($"Quota configs for {entity} are {string.Join(", ", entry.Values.Select(v => $"{v.Key}={JavaDouble(v.Value)}"))}");
        }
    }

    /// <summary>Java's <c>Double.toString</c> for the values Kafka prints: 1048576.0, 0.5, 1.0E7.</summary>
    internal static string JavaDouble(double value)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        var magnitude = Math.Abs(value);
        if (value == 0 || (magnitude >= 1e-3 && magnitude < 1e7))
        {
            var text = value.ToString("R", invariant);
            return text.Contains('.') ? text : text + ".0";
        }
        var exponent = (int)Math.Floor(Math.Log10(magnitude));
        var mantissa = (value / Math.Pow(10, exponent)).ToString("R", invariant);
        return $"{(mantissa.Contains('.') ? mantissa : mantissa + ".0")}E{exponent}";
    }

    private static async Task AlterUserAsync(KafkaWireClient client, string user, List<KeyValuePair<string, string>> added, List<string> deleted, bool printDone)
    {
        if (added.Select(a => a.Key).Where(k => ScramMechanisms.FromMechanismName(k) == ScramMechanism.Unknown).ToList() is { Count: > 0 } unknownAdded)
        {
            throw new CommandException($"Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: Set({string.Join(", ", unknownAdded)})");
        }
        if (deleted.Where(k => ScramMechanisms.FromMechanismName(k) == ScramMechanism.Unknown).ToList() is { Count: > 0 } unknownDeleted)
        {
            throw new CommandException($"Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: List({string.Join(", ", unknownDeleted)})");
        }
        if (user.Length == 0)
        {
            throw new CommandException("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.");
        }
        var request = new AlterUserScramCredentialsRequest
        {
            Deletions = [.. deleted.Select(m => new AlterUserScramCredentialsRequest.ScramCredentialDeletion { Name = user, Mechanism = (sbyte)ScramMechanisms.FromMechanismName(m) })],
        };
        foreach (var (mechanismName, value) in added)
        {
            var mechanism = ScramMechanisms.FromMechanismName(mechanismName);
            var match = ScramCredentialPattern.Match(value);
            if (!match.Success)
            {
                throw new CommandException($"Invalid credential property {mechanismName}={value}");
            }
            var iterations = match.Groups[1].Success && match.Groups[1].Value is { Length: > 0 } text && text != "-1"
                ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : DefaultScramIterations;
            if (iterations < ScramMechanisms.MinIterations)
            {
                throw new CommandException($"Iterations {iterations} is less than the minimum {ScramMechanisms.MinIterations} required for {mechanismName}");
            }
            // The AdminClient's part of KIP-554: a fresh salt and the salted password; the controller derives the keys.
            var salt = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            request.Upsertions.Add(new()
            {
                Name = user,
                Mechanism = (sbyte)mechanism,
                Iterations = iterations,
                Salt = salt,
                SaltedPassword = new ScramFormatter(mechanism).SaltedPassword(match.Groups[2].Value, salt, iterations),
            });
        }
        var response = await client.SendAsync<AlterUserScramCredentialsResponse>(request, 0, CancellationToken.None);
        if (response.Results.FirstOrDefault(x => x.ErrorCode != 0) is { } failed)
        {
            throw new CommandException($"org.apache.kafka.common.errors.{ExceptionName((ErrorCode)failed.ErrorCode)}: {failed.ErrorMessage ?? ErrorCodes.DefaultMessage((ErrorCode)failed.ErrorCode)}");
        }
        if (printDone)
        {
            Console.WriteLine($"Completed updating config for user {user}.");
        }
    }

    private static async Task DescribeUsersAsync(KafkaWireClient client, string? user)
    {
        var response = await client.SendAsync<DescribeUserScramCredentialsResponse>(new DescribeUserScramCredentialsRequest
        {
            Users = user is null ? [] : [new() { Name = user }],
        }, 0, CancellationToken.None);
        if (response.ErrorCode != 0)
        {
            throw new CommandException($"org.apache.kafka.common.errors.{ExceptionName((ErrorCode)response.ErrorCode)}: {response.ErrorMessage ?? ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode)}");
        }
        foreach (var result in response.Results)
        {
            Console.WriteLine(result.ErrorCode != 0
                ? $"Error retrieving SCRAM credential configs for user-principal '{result.User}': ExecutionException: org.apache.kafka.common.errors.{ExceptionName((ErrorCode)result.ErrorCode)}: {result.ErrorMessage}"
                : $"SCRAM credential configs for user-principal '{result.User}' are {string.Join(", ", result.CredentialInfos.Select(c => $"{ScramMechanisms.FromType(c.Mechanism).MechanismName()}=iterations={c.Iterations}"))}");
        }
    }

    /// <summary>The Java exception class Kafka's AdminClient raises for the errors these APIs answer.</summary>
    private static string ExceptionName(ErrorCode error) => error switch
    {
        ErrorCode.ResourceNotFound => "ResourceNotFoundException",
        ErrorCode.DuplicateResource => "DuplicateResourceException",
        ErrorCode.UnacceptableCredential => "UnacceptableCredentialException",
        ErrorCode.UnsupportedSaslMechanism => "UnsupportedSaslMechanismException",
        ErrorCode.ClusterAuthorizationFailed => "ClusterAuthorizationException",
        _ => "KafkaException",
    };

    /// <summary>Java's <c>ConfigEntry.ConfigSource</c> constant names.</summary>
    private static string SourceName(ConfigSource source) => source switch
    {
        ConfigSource.DynamicTopicConfig => "DYNAMIC_TOPIC_CONFIG",
        ConfigSource.DynamicBrokerConfig => "DYNAMIC_BROKER_CONFIG",
        ConfigSource.DynamicDefaultBrokerConfig => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        ConfigSource.StaticBrokerConfig => "STATIC_BROKER_CONFIG",
        ConfigSource.DefaultConfig => "DEFAULT_CONFIG",
        _ => "UNKNOWN",
    };
}
