using System.CommandLine;
using Samsa.Metadata.Controller;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa features</c> = <c>kafka-features.sh</c> (Kafka 4.0's <c>FeatureCommand</c>):
/// <list type="bullet">
/// <item><c>describe</c>: per supported feature, in name order,
/// <c>Feature: metadata.version	SupportedMinVersion: 3.3-IV3	SupportedMaxVersion: 4.0-IV3	FinalizedVersionLevel: 4.0-IV3	Epoch: 7</c>
/// (from ApiVersions v4, as the Java admin's describeFeatures).</item>
/// <item><c>upgrade</c> / <c>downgrade [--unsafe]</c> with <c>--feature name=level</c>, <c>--metadata 4.0</c> (deprecated)
/// or <c>--release-version 4.0-IV3</c> (every feature at its default for that release); <c>disable --feature name</c>;
/// <c>--dry-run</c> = validate_only. One line per feature in name order (<c>group.version was upgraded to 1.</c>,
/// <c>Could not upgrade ... . reason</c>), then <c>N out of M operation(s) failed.</c> on stderr and exit 1 if any failed.</item>
/// <item><c>version-mapping [--release-version]</c> and <c>feature-dependencies --feature name=level</c>: offline tables.</item>
/// </list>
/// Confluent's AdminClient has no features API, so this speaks ApiVersions and UpdateFeatures itself.
/// </summary>
internal sealed class FeaturesCommand
{
    private readonly Option<string> _bootstrapServer = new("--bootstrap-server") { Description = "A comma-separated list of host:port pairs to use for establishing the connection to the Kafka cluster.", Recursive = true };
    private readonly Option<string> _bootstrapController = new("--bootstrap-controller") { Description = "A comma-separated list of host:port pairs to use for establishing the connection to the KRaft quorum.", Recursive = true };
    private readonly Option<string> _commandConfig = new("--command-config") { Description = "Property file containing configs to be passed to Admin Client.", Recursive = true };

    public Command Build()
    {
        var command = new Command("features", "This tool manages feature flags in Kafka (kafka-features.sh).");
        command.Add(_bootstrapServer);
        command.Add(_bootstrapController);
        command.Add(_commandConfig);

        var describe = new Command("describe", "Describes the current active feature flags.");
        describe.SetAction((r, ct) => Run(r, () => DescribeAsync(r, ct)));
        command.Add(describe);

        command.Add(UpdateCommand("upgrade", "Upgrade one or more feature flags.", downgrade: false));
        command.Add(UpdateCommand("downgrade", "Downgrade one or more feature flags.", downgrade: true));

        var disable = new Command("disable", "Disable one or more feature flags. This is the same as downgrading the version to zero.");
        var disableFeature = new Option<string[]>("--feature") { Description = "A feature flag to disable.", AllowMultipleArgumentsPerToken = false };
        var disableUnsafe = new Option<bool>("--unsafe") { Description = "Disable this feature flag even if it may irreversibly destroy metadata." };
        var disableDryRun = new Option<bool>("--dry-run") { Description = "Perform a dry-run of this disable operation." };
        disable.Add(disableFeature);
        disable.Add(disableUnsafe);
        disable.Add(disableDryRun);
        disable.SetAction((r, ct) => Run(r, async () =>
        {
            var type = r.GetValue(disableUnsafe) ? FeatureUpgradeType.UnsafeDowngrade : FeatureUpgradeType.SafeDowngrade;
            var updates = new Dictionary<string, short>(StringComparer.Ordinal);
            foreach (var feature in r.GetValue(disableFeature) ?? [])
            {
                if (!updates.TryAdd(feature, 0))
                {
                    throw new CommandException($"Feature {feature} was specified more than once.");
                }
            }
            await UpdateAsync(r, "disable", updates, type, r.GetValue(disableDryRun), ct);
        }));
        command.Add(disable);

        var mapping = new Command("version-mapping", "Look up the corresponding features for a given metadata version. Using the command with no --release-version  argument will return the mapping for the latest stable metadata version");
        var mappingRelease = new Option<string>("--release-version") { Description = $"The release version to use for the corresponding feature mapping. The minimum is {MetadataVersions.Name(MetadataVersions.Minimum)}; the default is {MetadataVersions.Name(MetadataVersions.LatestProduction)}" };
        mapping.Add(mappingRelease);
        mapping.SetAction((r, ct) => Run(r, () =>
        {
            VersionMapping(r.GetValue(mappingRelease));
            return Task.CompletedTask;
        }));
        command.Add(mapping);

        var dependencies = new Command("feature-dependencies", "Look up dependencies for a given feature version. If the feature is not known or the version not yet defined, an error is thrown. Multiple features can be specified.");
        var dependencyFeature = new Option<string[]>("--feature") { Description = "The feature and version to look up dependencies for, in feature=version format. For example: `metadata.version=5`.", Required = true };
        dependencies.Add(dependencyFeature);
        dependencies.SetAction((r, ct) => Run(r, () =>
        {
            FeatureDependencies(r.GetValue(dependencyFeature) ?? []);
            return Task.CompletedTask;
        }));
        command.Add(dependencies);
        return command;
    }

    private Command UpdateCommand(string name, string description, bool downgrade)
    {
        var command = new Command(name, description);
        var metadata = new Option<string>("--metadata") { Description = $"DEPRECATED -- The level to which we should {name} the metadata. For example, 3.3-IV3." };
        var release = new Option<string>("--release-version") { Description = $"The release version to {name} all features to. For example, 3.9-IV0 will set metadata.version=21. Use the version-mapping command to learn which features will be set for any given version." };
        var feature = new Option<string[]>("--feature") { Description = $"A feature {name} we should perform, in feature=level format. For example: `metadata.version=5`." };
        var unsafeDowngrade = new Option<bool>("--unsafe") { Description = "Perform this downgrade even if it may irreversibly destroy metadata." };
        var dryRun = new Option<bool>("--dry-run") { Description = $"Validate this {name}, but do not perform it." };
        command.Add(metadata);
        command.Add(release);
        command.Add(feature);
        if (downgrade)
        {
            command.Add(unsafeDowngrade);
        }
        command.Add(dryRun);
        command.SetAction((r, ct) => Run(r, async () =>
        {
            var type = !downgrade ? FeatureUpgradeType.Upgrade
                : r.GetValue(unsafeDowngrade) ? FeatureUpgradeType.UnsafeDowngrade : FeatureUpgradeType.SafeDowngrade;
            var updates = Updates(r.GetValue(metadata), r.GetValue(release), r.GetValue(feature), type);
            await UpdateAsync(r, name, updates, type, r.GetValue(dryRun), ct);
        }));
        return command;
    }

    /// <summary>Kafka's FeatureCommand exits 1 with the message on stderr for every failure.</summary>
    private Task<int> Run(ParseResult r, Func<Task> body) => CommandRunner.RunAsync(body, "", errorsToStdout: false);

    private string Bootstrap(ParseResult r)
    {
        var server = r.GetValue(_bootstrapServer);
        var controller = r.GetValue(_bootstrapController);
        if (server is not null && controller is not null)
        {
            throw new CommandException("Command line error: argument --bootstrap-controller: not allowed with argument --bootstrap-server. Type --help for help.");
        }
        if (server is null && controller is null)
        {
            throw new CommandException("Command line error: one of the arguments --bootstrap-server --bootstrap-controller is required. Type --help for help.");
        }
        if (controller is not null)
        {
            // Samsa's combined node has no separate controller listener; its broker listener answers for both.
            return controller;
        }
        if (r.GetValue(_commandConfig) is { } file)
        {
            _ = ClientOptions.ReadFile(file);
        }
        return server!;
    }

    private async Task DescribeAsync(ParseResult r, CancellationToken cancellationToken)
    {
        using var client = await KafkaWireClient.ConnectAnyAsync(Bootstrap(r), cancellationToken);
        var response = await client.SendAsync<ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "samsa-cli", ClientSoftwareVersion = "1.0" }, 4, cancellationToken);
        var finalized = response.FinalizedFeatures.ToDictionary(f => f.Name, f => f.MaxVersionLevel);
        var epoch = response.FinalizedFeaturesEpoch >= 0 ? response.FinalizedFeaturesEpoch.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
        foreach (var feature in response.SupportedFeatures.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var level = finalized.GetValueOrDefault(feature.Name);
            Console.WriteLine($"Feature: {feature.Name}\tSupportedMinVersion: {LevelToString(feature.Name, feature.MinVersion)}\t" +
                $"SupportedMaxVersion: {LevelToString(feature.Name, feature.MaxVersion)}\tFinalizedVersionLevel: {LevelToString(feature.Name, level)}\tEpoch: {epoch}");
        }
    }

    private static string LevelToString(string feature, short level) =>
        feature != FeatureControlManager.MetadataVersionFeature ? level.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : MetadataVersions.TryParse(MetadataVersions.Name(level)) is not null ? MetadataVersions.Name(level)
        : $"UNKNOWN {level}";

    private static string SupportedMetadataVersions() =>
        string.Join(", ", MetadataVersions.All.Select(v => v.Name));

    private static Dictionary<string, short> Updates(string? metadata, string? release, string[]? features, FeatureUpgradeType type)
    {
        if (release is not null && (metadata is not null || features is { Length: > 0 }))
        {
            throw new CommandException("Can not specify `release-version` with other feature flags.");
        }
        var updates = new Dictionary<string, short>(StringComparer.Ordinal);
        if (release is not null)
        {
            var level = MetadataVersions.TryParse(release)
                ?? throw new CommandException($"Unknown metadata.version {release}. Supported metadata.version are {SupportedMetadataVersions()}");
            updates[FeatureControlManager.MetadataVersionFeature] = level;
            foreach (var (feature, featureLevel) in DefaultLevels(level))
            {
                // An upgrade never asks for a feature at 0.
                if (type != FeatureUpgradeType.Upgrade || featureLevel > 0)
                {
                    updates[feature] = featureLevel;
                }
            }
            return updates;
        }
        if (metadata is not null)
        {
            Console.WriteLine(" `metadata` flag is deprecated and may be removed in a future release.");
            updates[FeatureControlManager.MetadataVersionFeature] = MetadataVersions.TryParse(metadata)
                ?? throw new CommandException($"Unknown metadata.version {metadata}. Supported metadata.version are {SupportedMetadataVersions()}");
        }
        foreach (var feature in features ?? [])
        {
            var (name, level) = ParseNameAndLevel(feature);
            if (!updates.TryAdd(name, level))
            {
                throw new CommandException($"Feature {name} was specified more than once.");
            }
        }
        return updates;
    }

    private static (string Name, short Level) ParseNameAndLevel(string input)
    {
        var eq = input.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            throw new CommandException($"Can't parse feature=level string {input}: equals sign not found.");
        }
        var name = input[..eq].Trim();
        var levelText = input[(eq + 1)..].Trim();
        return short.TryParse(levelText, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var level)
            ? (name, level)
            : throw new CommandException($"Can't parse feature=level string {input}: unable to parse {levelText} as a short.");
    }

    /// <summary>
    /// Kafka's <c>Feature.defaultLevel</c> for each feature other than metadata.version, in Kafka's enum order:
    /// the highest level Samsa supports whose dependencies the given metadata.version meets.
    /// </summary>
    private static IEnumerable<(string Feature, short Level)> DefaultLevels(short metadataVersion)
    {
        foreach (var name in FeatureControlManager.NonMetadataFeatures)
        {
            var range = FeatureControlManager.SupportedRange(name)!.Value;
            var level = range.Max;
            while (level > 0 && FeatureControlManager.Dependencies(name, level).GetValueOrDefault(FeatureControlManager.MetadataVersionFeature) > metadataVersion)
            {
                level--;
            }
            yield return (name, level);
        }
    }

    private async Task UpdateAsync(ParseResult r, string op, Dictionary<string, short> updates, FeatureUpgradeType type, bool dryRun, CancellationToken cancellationToken)
    {
        if (updates.Count == 0)
        {
            throw new CommandException($"You must specify at least one feature to {op}");
        }
        using var client = await KafkaWireClient.ConnectAnyAsync(Bootstrap(r), cancellationToken);
        var request = new UpdateFeaturesRequest { ValidateOnly = dryRun };
        foreach (var (name, level) in updates)
        {
            request.FeatureUpdates.Add(new UpdateFeaturesRequest.FeatureUpdateKey { Feature = name, MaxVersionLevel = level, UpgradeType = (sbyte)type });
        }
        var response = await client.SendAsync<UpdateFeaturesResponse>(request, 2, cancellationToken);
        // v2 answers for the whole request; every feature shares its outcome, as the Java admin reports it.
        var failed = 0;
        foreach (var (name, level) in updates.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            if (response.ErrorCode != 0)
            {
                var reason = response.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode);
                var suffix = op == "disable" ? $"disable {name}" : $"{op} {name} to {level}";
                Console.WriteLine($"{(dryRun ? "Can not " : "Could not ")}{suffix}. {reason}");
                failed++;
            }
            else
            {
                Console.WriteLine($"{name}{(dryRun ? " can be " : " was ")}{(op == "disable" ? "disabled." : $"{op}d to {level}.")}");
            }
        }
        if (failed > 0)
        {
            throw new CommandException($"{failed} out of {updates.Count} operation(s) failed.");
        }
    }

    private static void VersionMapping(string? release)
    {
        release ??= MetadataVersions.Name(MetadataVersions.LatestProduction);
        var level = MetadataVersions.TryParse(release)
            ?? throw new CommandException($"Unknown release version '{release}'. Supported versions are: {MetadataVersions.Name(MetadataVersions.Minimum)} to {MetadataVersions.Name(MetadataVersions.LatestProduction)}");
        Console.WriteLine($"metadata.version={level} ({release})");
        foreach (var (feature, featureLevel) in DefaultLevels(level))
        {
            Console.WriteLine($"{feature}={featureLevel}");
        }
    }

    private static void FeatureDependencies(IEnumerable<string> features)
    {
        foreach (var input in features)
        {
            var (name, level) = ParseNameAndLevel(input);
            if (name == FeatureControlManager.MetadataVersionFeature)
            {
                var version = MetadataVersions.Name(level);
                if (MetadataVersions.TryParse(version) is null)
                {
                    throw new CommandException($"Unknown metadata.version {level}");
                }
                Console.WriteLine($"{name}={level} ({version}) has no dependencies.");
                continue;
            }
            var range = FeatureControlManager.SupportedRange(name) ?? throw new CommandException($"Unknown feature: {name}");
            if (!range.Contains(level))
            {
                throw new CommandException($"No feature:{name} with feature level {level}");
            }
            var dependencies = FeatureControlManager.Dependencies(name, level);
            if (dependencies.Count == 0)
            {
                Console.WriteLine($"{name}={level} has no dependencies.");
                continue;
            }
            Console.WriteLine($"{name}={level} requires:");
            foreach (var (dependency, dependencyLevel) in dependencies)
            {
                Console.WriteLine(dependency == FeatureControlManager.MetadataVersionFeature
                    ? $"    {dependency}={dependencyLevel} ({MetadataVersions.Name(dependencyLevel)})"
                    : $"    {dependency}={dependencyLevel}");
            }
        }
    }
}
