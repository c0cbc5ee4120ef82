using System.CommandLine;
using Samsa.Broker.Security;
using Admin = Confluent.Kafka.Admin;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa acls</c> = <c>kafka-acls.sh</c> (Kafka's <c>AclCommand</c>): <c>--add</c>, <c>--remove</c> and <c>--list</c>
/// ACL bindings through the AdminClient (CreateAcls, DeleteAcls, DescribeAcls), with Kafka's flags, its
/// <c>--producer</c>/<c>--consumer</c> expansions and its output: <c>Adding ACLs for resource `ResourcePattern(...)`: </c>
/// then one tab-indented <c>(principal=..., host=..., operation=..., permissionType=...)</c> per entry, and after
/// an add or remove the <c>Current ACLs for resource ...</c> listing. Kafka prints its hash sets in no set order;
/// this prints resources and entries sorted.
/// </summary>
internal sealed class AclsCommand
{
    private const string ClusterName = "kafka-cluster";
    private readonly ClientOptions _client = new();
    private readonly Option<bool> _add = new("--add") { Description = "Indicates you are trying to add ACLs." };
    private readonly Option<bool> _remove = new("--remove") { Description = "Indicates you are trying to remove ACLs." };
    private readonly Option<bool> _list = new("--list") { Description = "List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource." };
    private readonly Option<string[]> _topic = new("--topic") { Description = "topic to which ACLs should be added or removed. A value of '*' indicates ACL should apply to all topics." };
    private readonly Option<bool> _cluster = new("--cluster") { Description = "Add/Remove cluster ACLs." };
    private readonly Option<string[]> _group = new("--group") { Description = "Consumer Group to which the ACLs should be added or removed. A value of '*' indicates the ACLs should apply to all groups." };
    private readonly Option<string[]> _transactionalId = new("--transactional-id") { Description = "The transactionalId to which ACLs should be added or removed. A value of '*' indicates the ACLs should apply to all transactionalIds." };
    private readonly Option<bool> _idempotent = new("--idempotent") { Description = "Enable idempotence for the producer. This should be used in combination with the --producer option." };
    private readonly Option<string> _patternType = new("--resource-pattern-type") { Description = "The type of the resource pattern or pattern filter: literal or prefixed when adding; any or match also when listing or removing." };
    private readonly Option<string[]> _operation = new("--operation") { Description = "Operation that is being allowed or denied (Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens, All). Default: All." };
    private readonly Option<string[]> _allowPrincipal = new("--allow-principal") { Description = "principal is in principalType:name format. User:'*' is the wild card indicating all users." };
    private readonly Option<string[]> _denyPrincipal = new("--deny-principal") { Description = "principal is in principalType:name format. Deny rules take precedence over allow rules." };
    private readonly Option<string[]> _principal = new("--principal") { Description = "List ACLs for the specified principal (principalType:name). May be given more than once." };
    private readonly Option<string[]> _allowHost = new("--allow-host") { Description = "Host from which principals listed in --allow-principal will have access. Default: * when --allow-principal is given." };
    private readonly Option<string[]> _denyHost = new("--deny-host") { Description = "Host from which principals listed in --deny-principal will be denied access. Default: * when --deny-principal is given." };
    private readonly Option<bool> _producer = new("--producer") { Description = "Convenience option to add/remove ACLs for producer role. This will generate ACLs that allows WRITE,DESCRIBE and CREATE on topic." };
    private readonly Option<bool> _consumer = new("--consumer") { Description = "Convenience option to add/remove ACLs for consumer role. This will generate ACLs that allows READ,DESCRIBE on topic and READ on group." };
    private readonly Option<bool> _force = new("--force") { Description = "Assume Yes to all queries and do not prompt." };

    public Command Build()
    {
        var command = new Command("acls", "This tool helps to manage acls on kafka (kafka-acls.sh).");
        _client.AddTo(command);
        foreach (var option in new Option[] { _add, _remove, _list, _topic, _cluster, _group, _transactionalId, _idempotent, _patternType, _operation,
            _allowPrincipal, _denyPrincipal, _principal, _allowHost, _denyHost, _producer, _consumer, _force })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result), "Error while executing ACL command: ", errorsToStdout: true));
        return command;
    }

    /// <summary>A resource pattern, or a pattern filter when its pattern type is ANY or MATCH.</summary>
    private sealed record Pattern(AclResourceType Type, string Name, PatternType PatternType)
    {
        public override string ToString() => Text("ResourcePattern");

        public string FilterText() => Text("ResourcePatternFilter");

        private string Text(string kind) => $"{kind}(resourceType={AclNames.Constant(Type)}, name={Name}, patternType={AclNames.Constant(PatternType)})";
    }

    /// <summary>Kafka's <c>AccessControlEntry</c> and its <c>toString</c>.</summary>
    private sealed record Entry(string Principal, string Host, AclOperation Operation, AclPermissionType Permission)
    {
        public override string ToString() =>
            $"(principal={Principal}, host={Host}, operation={AclNames.Constant(Operation)}, permissionType={AclNames.Constant(Permission)})";
    }

    private async Task RunAsync(ParseResult r)
    {
        var actions = new[] { _add, _remove, _list }.Count(o => r.GetValue(o));
        if (actions != 1)
        {
            throw new CommandException("Command must include exactly one action: --list, --add, --remove. ");
        }
        CheckArgs(r);
        var patternType = ParsePatternType(r.GetValue(_patternType));
        using var admin = _client.CreateAdmin(r);
        if (r.GetValue(_add))
        {
            if (patternType is not (PatternType.Literal or PatternType.Prefixed))
            {
                throw new CommandException($"A '--resource-pattern-type' value of '{AclNames.Constant(patternType)}' is not valid when adding acls.");
            }
            var toAdd = FilterToAcls(r, patternType);
            if (toAdd.Any(pair => pair.Value.Count == 0))
            {
                throw new CommandException("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.");
            }
            foreach (var (resource, entries) in toAdd)
            {
                Console.WriteLine(Block($"Adding ACLs for resource `{resource}`", entries));
                await admin.CreateAclsAsync([.. entries.Select(e => Binding(resource, e))]);
            }
        }
        else if (r.GetValue(_remove))
        {
            foreach (var (filter, entries) in FilterToAcls(r, patternType))
            {
                var question = entries.Count == 0
                    ? $"Are you sure you want to delete all ACLs for resource filter `{filter.FilterText()}`? (y/n)"
                    : $"Are you sure you want to remove ACLs: \n {string.Join("\n", Sorted(entries).Select(e => "\t" + e))} \n from resource filter `{filter.FilterText()}`? (y/n)";
                if (Confirm(r, question))
                {
                    await admin.DeleteAclsAsync(entries.Count == 0 ? [Filter(filter, null)] : [.. entries.Select(e => Filter(filter, e))]);
                }
            }
        }
        await ListAsync(admin, r, patternType);
    }

    /// <summary>Kafka's <c>checkArgs</c> for the role shortcuts.</summary>
    private void CheckArgs(ParseResult r)
    {
        var topics = r.GetValue(_topic) ?? [];
        if (r.GetValue(_list) && (r.GetValue(_producer) || r.GetValue(_consumer) || (r.GetValue(_allowPrincipal) ?? []).Length > 0 || (r.GetValue(_denyPrincipal) ?? []).Length > 0))
        {
            throw new CommandException("Option \"[list]\" can't be used with option \"[producer, consumer, allow-principal, deny-principal]\"");
        }
        if (r.GetValue(_producer) && topics.Length == 0 && (r.GetValue(_transactionalId) ?? []).Length == 0)
        {
            throw new CommandException("With --producer you must specify a --topic");
        }
        if (r.GetValue(_idempotent) && !r.GetValue(_producer))
        {
            throw new CommandException("The --idempotent option is only available if --producer is set");
        }
        if (r.GetValue(_consumer) && (topics.Length == 0 || (r.GetValue(_group) ?? []).Length == 0 || (!r.GetValue(_producer) && (r.GetValue(_cluster) || (r.GetValue(_transactionalId) ?? []).Length > 0))))
        {
            throw new CommandException("With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.");
        }
    }

    private async Task ListAsync(Confluent.Kafka.IAdminClient admin, ParseResult r, PatternType patternType)
    {
        var filters = ResourceFilters(r, patternType, dieIfNone: false);
        var bindings = new List<Admin.AclBinding>();
        if (filters.Count == 0)
        {
            bindings.AddRange((await admin.DescribeAclsAsync(Filter(null, null))).AclBindings);
        }
        foreach (var filter in filters)
        {
            bindings.AddRange((await admin.DescribeAclsAsync(Filter(filter, null))).AclBindings);
        }
        var byResource = bindings
            .GroupBy(b => new Pattern((AclResourceType)b.Pattern.Type, b.Pattern.Name, (PatternType)b.Pattern.ResourcePatternType))
            .OrderBy(g => g.Key.Type).ThenBy(g => g.Key.Name, StringComparer.Ordinal).ThenBy(g => g.Key.PatternType)
            .Select(g => (Resource: g.Key, Entries: g.Select(b => new Entry(b.Entry.Principal, b.Entry.Host, (AclOperation)b.Entry.Operation, (AclPermissionType)b.Entry.PermissionType)).ToHashSet()))
            .ToList();
        var principals = (r.GetValue(_principal) ?? []).Select(p => KafkaPrincipal.Parse(p.Trim()).ToString()).Distinct().ToList();
        if (principals.Count == 0)
        {
            Print(byResource);
            return;
        }
        foreach (var principal in principals)
        {
            Console.WriteLine($"ACLs for principal `{principal}`");
            Print([.. byResource.Select(x => (x.Resource, Entries: x.Entries.Where(e => e.Principal == principal).ToHashSet())).Where(x => x.Entries.Count > 0)]);
        }
    }

    private static void Print(List<(Pattern Resource, HashSet<Entry> Entries)> resources)
    {
        foreach (var (resource, entries) in resources)
        {
            Console.WriteLine(Block($"Current ACLs for resource `{resource}`", entries));
        }
    }

    /// <summary>Kafka's <c>s"$header: $Newline ${acls.map("\t" + _).mkString(Newline)} $Newline"</c>.</summary>
    private static string Block(string header, IEnumerable<Entry> entries) =>
        $"{header}: \n {string.Join("\n", Sorted(entries).Select(e => "\t" + e))} \n";

    private static IEnumerable<Entry> Sorted(IEnumerable<Entry> entries) =>
        entries.OrderBy(e => e.Permission).ThenBy(e => e.Principal, StringComparer.Ordinal).ThenBy(e => e.Host, StringComparer.Ordinal).ThenBy(e => e.Operation);

    /// <summary>Kafka's <c>getResourceFilterToAcls</c>: the role shortcuts, or the entries the flags name, for each resource.</summary>
    private List<KeyValuePair<Pattern, HashSet<Entry>>> FilterToAcls(ParseResult r, PatternType patternType)
    {
        var result = new List<KeyValuePair<Pattern, HashSet<Entry>>>();
        void Put(Pattern resource, IEnumerable<Entry> entries)
        {
            var index = result.FindIndex(p => p.Key == resource);
            if (index < 0)
            {
                result.Add(new(resource, [.. entries]));
            }
            else
            {
                result[index].Value.UnionWith(entries);
            }
        }
        var filters = ResourceFilters(r, patternType, dieIfNone: true);
        var producer = r.GetValue(_producer);
        var consumer = r.GetValue(_consumer);
        if (!producer && !consumer)
        {
            var operations = (r.GetValue(_operation) is { Length: > 0 } named ? named : ["All"]).Select(o => AclNames.ParseOperation(o.Trim())).ToHashSet();
            foreach (var filter in filters)
            {
                Put(filter, Entries(r, operations));
            }
        }
        if (producer)
        {
            // WRITE, DESCRIBE and CREATE on topics; WRITE and DESCRIBE on transactional ids; IDEMPOTENT_WRITE on the cluster with --idempotent.
            foreach (var filter in filters.Where(f => f.Type == AclResourceType.Topic))
            {
                Put(filter, Entries(r, [AclOperation.Write, AclOperation.Describe, AclOperation.Create]));
            }
            foreach (var filter in filters.Where(f => f.Type == AclResourceType.TransactionalId))
            {
                Put(filter, Entries(r, [AclOperation.Write, AclOperation.Describe]));
            }
            if (r.GetValue(_idempotent))
            {
                Put(new Pattern(AclResourceType.Cluster, ClusterName, PatternType.Literal), Entries(r, [AclOperation.IdempotentWrite]));
            }
        }
        if (consumer)
        {
            // READ and DESCRIBE on topics, READ on groups.
            foreach (var filter in filters.Where(f => f.Type == AclResourceType.Topic))
            {
                Put(filter, Entries(r, [AclOperation.Read, AclOperation.Describe]));
            }
            foreach (var filter in filters.Where(f => f.Type == AclResourceType.Group))
            {
                Put(filter, Entries(r, [AclOperation.Read]));
            }
        }
        foreach (var (resource, entries) in result)
        {
            var valid = AuthHelper.SupportedOperations(resource.Type).Append(AclOperation.All).ToList();
            if (entries.Any(e => !valid.Contains(e.Operation)))
            {
                throw new CommandException($"ResourceType {AclNames.Constant(resource.Type)} only supports operations {string.Join(", ", valid.Select(AclNames.Constant))}");
            }
        }
        return result;
    }

    /// <summary>Kafka's <c>getAcl</c>: every allowed principal × operation × allowed host, then the same for deny.</summary>
    private List<Entry> Entries(ParseResult r, IReadOnlyCollection<AclOperation> operations)
    {
        var entries = new List<Entry>();
        foreach (var (principals, hosts, permission) in new[]
        {
            (_allowPrincipal, _allowHost, AclPermissionType.Allow),
            (_denyPrincipal, _denyHost, AclPermissionType.Deny),
        })
        {
            var names = (r.GetValue(principals) ?? []).Select(p => KafkaPrincipal.Parse(p.Trim()).ToString()).Distinct().ToList();
            List<string> hostList = r.GetValue(hosts) is { Length: > 0 } given ? [.. given.Select(h => h.Trim()).Distinct()] : ["*"];
            entries.AddRange(from name in names from operation in operations from host in hostList select new Entry(name, host, operation, permission));
        }
        return entries;
    }

    /// <summary>Kafka's <c>getResourceFilter</c>: topics, the cluster (LITERAL only, also for --idempotent), groups, transactional ids.</summary>
    private List<Pattern> ResourceFilters(ParseResult r, PatternType patternType, bool dieIfNone)
    {
        var filters = new List<Pattern>();
        filters.AddRange((r.GetValue(_topic) ?? []).Select(t => new Pattern(AclResourceType.Topic, t.Trim(), patternType)));
        if (patternType == PatternType.Literal && (r.GetValue(_cluster) || r.GetValue(_idempotent)))
        {
            filters.Add(new Pattern(AclResourceType.Cluster, ClusterName, PatternType.Literal));
        }
        filters.AddRange((r.GetValue(_group) ?? []).Select(g => new Pattern(AclResourceType.Group, g.Trim(), patternType)));
        filters.AddRange((r.GetValue(_transactionalId) ?? []).Select(t => new Pattern(AclResourceType.TransactionalId, t, patternType)));
        if (filters.Count == 0 && dieIfNone)
        {
            throw new CommandException("You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>");
        }
        return [.. filters.Distinct()];
    }

    private static PatternType ParsePatternType(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        null or "LITERAL" => PatternType.Literal,
        "PREFIXED" => PatternType.Prefixed,
        "ANY" => PatternType.Any,
        "MATCH" => PatternType.Match,
        _ => throw new CommandException($"Invalid value for option resource-pattern-type. Valid values are: ANY, MATCH, LITERAL, PREFIXED (got {text})"),
    };

    private bool Confirm(ParseResult r, string question)
    {
        if (r.GetValue(_force))
        {
            return true;
        }
        Console.WriteLine(question);
        return string.Equals(Console.ReadLine()?.Trim(), "y", StringComparison.OrdinalIgnoreCase);
    }

    // The AdminClient's enums carry Kafka's codes (its Broker resource type is Kafka's CLUSTER, code 4), so the casts keep meaning.
    private static Admin.AclBinding Binding(Pattern resource, Entry entry) => new()
    {
        Pattern = new Admin.ResourcePattern { Type = (Admin.ResourceType)resource.Type, Name = resource.Name, ResourcePatternType = (Admin.ResourcePatternType)resource.PatternType },
        Entry = new Admin.AccessControlEntry { Principal = entry.Principal, Host = entry.Host, Operation = (Admin.AclOperation)entry.Operation, PermissionType = (Admin.AclPermissionType)entry.Permission },
    };

    /// <summary>A filter on the resource (every resource when null) with, when given, the exact entry; else any entry.</summary>
    private static Admin.AclBindingFilter Filter(Pattern? resource, Entry? entry) => new()
    {
        PatternFilter = resource is null
            ? new Admin.ResourcePatternFilter { Type = Admin.ResourceType.Any, Name = null, ResourcePatternType = Admin.ResourcePatternType.Any }
            : new Admin.ResourcePatternFilter { Type = (Admin.ResourceType)resource.Type, Name = resource.Name, ResourcePatternType = (Admin.ResourcePatternType)resource.PatternType },
        EntryFilter = entry is null
            ? new Admin.AccessControlEntryFilter { Principal = null, Host = null, Operation = Admin.AclOperation.Any, PermissionType = Admin.AclPermissionType.Any }
            : new Admin.AccessControlEntryFilter { Principal = entry.Principal, Host = entry.Host, Operation = (Admin.AclOperation)entry.Operation, PermissionType = (Admin.AclPermissionType)entry.Permission },
    };
}
