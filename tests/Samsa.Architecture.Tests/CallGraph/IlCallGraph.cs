using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Samsa.Architecture.Tests.CallGraph;

/// <summary>
/// A call graph read from the IL of our assemblies (System.Reflection.Metadata, no compiler needed). It follows, from
/// a set of entry methods: direct calls; virtual and interface calls to every override or implementation in our
/// assemblies; async and iterator bodies (the compiler's <c>&lt;Name&gt;d__N.MoveNext</c>); lambdas and local
/// functions (<c>ldftn</c>). A delegate handed to an off-thread boundary (<see cref="BlockingRules.Boundaries"/>:
/// an event queue, the thread pool, a timer) is not followed: it runs elsewhere. Calls into other assemblies (the
/// BCL) are leaves, checked against <see cref="BlockingRules.Blocking"/>.
/// </summary>
/// <remarks>
/// Known limits, by design small: a delegate stored in a field or event and invoked later is followed where it
/// is created (if that is reachable), not where it is invoked; our overrides of BCL virtuals (a Stream's Read,
/// IDisposable.Dispose) are not reached through the BCL interface. The runtime probe in the broker tests covers
/// what the graph cannot see.
/// </remarks>
public sealed class IlCallGraph
{
    private readonly Dictionary<string, List<MethodNode>> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TypeNode> _types = new(StringComparer.Ordinal);
    private static readonly Dictionary<short, OpCode> s_opCodes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    public IlCallGraph(IEnumerable<Assembly> assemblies)
    {
        foreach (var assembly in assemblies)
        {
            var pe = new PEReader(File.OpenRead(assembly.Location));
            var reader = pe.GetMetadataReader();
            foreach (var typeHandle in reader.TypeDefinitions)
            {
                var type = reader.GetTypeDefinition(typeHandle);
                var name = TypeName(reader, typeHandle);
                var node = new TypeNode(name, reader, typeHandle);
                _types[name] = node;
                foreach (var methodHandle in type.GetMethods())
                {
                    var method = reader.GetMethodDefinition(methodHandle);
                    var signature = method.DecodeSignature(SignatureNames.Instance, null);
                    var methodName = reader.GetString(method.Name);
                    var key = Key(name, methodName, signature.ParameterTypes.Length);
                    var methodNode = new MethodNode(key, name, methodName, pe, reader, methodHandle, method.RelativeVirtualAddress);
                    node.Methods.Add(methodNode);
                    if (!_byKey.TryGetValue(key, out var list))
                    {
                        _byKey[key] = list = [];
                    }
                    list.Add(methodNode);
                }
            }
        }
        foreach (var type in _types.Values)
        {
            var definition = type.Reader.GetTypeDefinition(type.Handle);
            if (!definition.BaseType.IsNil)
            {
                type.Supertypes.Add(TypeName(type.Reader, definition.BaseType));
            }
            foreach (var implementation in definition.GetInterfaceImplementations())
            {
                type.Supertypes.Add(TypeName(type.Reader, type.Reader.GetInterfaceImplementation(implementation).Interface));
            }
        }
    }

    public static string Key(string type, string method, int parameters) => $"{type}::{method}({parameters})";

    /// <summary>Our methods named <paramref name="method"/> on <paramref name="type"/> (any arity).</summary>
    public IEnumerable<MethodNode> Methods(string type, string method) =>
        _types.TryGetValue(type, out var node) ? node.Methods.Where(m => m.Name == method) : [];

    /// <summary>Every type of ours that is or derives from / implements <paramref name="type"/>, transitively.</summary>
    public IEnumerable<string> Subtypes(string type) => _types.Values.Where(t => IsSubtype(t.Name, type, 0)).Select(t => t.Name);

    private bool IsSubtype(string candidate, string type, int depth)
    {
        if (candidate == type)
        {
            return true;
        }
        return depth < 16 && _types.TryGetValue(candidate, out var node) && node.Supertypes.Any(s => IsSubtype(s, type, depth + 1));
    }

    /// <summary>
    /// Walks from <paramref name="entries"/> and returns every reachable call to a blocking API that the allow-list
    /// does not excuse, each with the path that reaches it.
    /// </summary>
    public List<Finding> FindBlockingCalls(IEnumerable<MethodNode> entries, BlockingRules rules)
    {
        var parent = new Dictionary<MethodNode, MethodNode?>();
        var queue = new Queue<MethodNode>();
        foreach (var entry in entries)
        {
            if (parent.TryAdd(entry, null))
            {
                queue.Enqueue(entry);
            }
        }
        var findings = new List<Finding>();
        while (queue.Count > 0)
        {
            var method = queue.Dequeue();
            foreach (var call in Calls(method, rules))
            {
                if (call.Target is { } target)
                {
                    if (rules.IsCut(method.SourceName, target.DisplayName))
                    {
                        continue;
                    }
                    if (parent.TryAdd(target, method))
                    {
                        queue.Enqueue(target);
                    }
                    continue;
                }
                if (rules.BlockingReason(call.External!, call.ParameterCount) is { } reason && !rules.IsAllowed(method.SourceName, call.External!))
                {
                    findings.Add(new Finding(call.External!, reason, method.SourceName, PathTo(method, parent)));
                }
            }
        }
        return findings;
    }

    private static List<string> PathTo(MethodNode method, Dictionary<MethodNode, MethodNode?> parent)
    {
        var path = new List<string>();
        for (MethodNode? m = method; m is not null; m = parent[m])
        {
            path.Add(m.SourceName);
        }
        path.Reverse();
        return path;
    }

    /// <summary>What <paramref name="method"/> calls: our methods to follow, or external APIs to check.</summary>
    private IEnumerable<Call> Calls(MethodNode method, BlockingRules rules)
    {
        var calls = new List<Call>();
        // Async and iterator bodies live in the compiler's nested state machine.
        if (_types.TryGetValue(method.TypeName, out var declaring))
        {
            var prefix = $"{method.TypeName}/<{method.Name}>d";
            foreach (var type in _types.Values.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)))
            {
                calls.AddRange(type.Methods.Where(m => m.Name == "MoveNext").Select(m => new Call(m, null, 0)));
            }
        }
        if (method.Rva == 0)
        {
            return calls;
        }
        var body = method.PE.GetMethodBody(method.Rva);
        var il = body.GetILReader();
        var pendingDelegates = new List<MethodNode>();
        var awaiterResults = new Dictionary<string, int>(StringComparer.Ordinal);
        var awaiterChecks = new Dictionary<string, int>(StringComparer.Ordinal);
        while (il.RemainingBytes > 0)
        {
            var first = il.ReadByte();
            var value = first == 0xFE ? (short)(0xFE00 | il.ReadByte()) : first;
            var opCode = s_opCodes[value];
            if (opCode.OperandType == OperandType.InlineSwitch)
            {
                var count = il.ReadInt32();
                il.Offset += 4 * count;
                continue;
            }
            if (opCode.OperandType != OperandType.InlineMethod)
            {
                il.Offset += OperandSize(opCode.OperandType);
                continue;
            }
            var handle = MetadataTokens.EntityHandle(il.ReadInt32());
            var reference = Resolve(method.Reader, handle);
            if (opCode == OpCodes.Ldftn || opCode == OpCodes.Ldvirtftn)
            {
                pendingDelegates.AddRange(Targets(reference, virtualCall: opCode == OpCodes.Ldvirtftn));
                continue;
            }
            if (opCode == OpCodes.Newobj && reference.Name == ".ctor" && reference.IsDelegateType)
            {
                continue;
            }
            var api = $"{reference.Type}::{reference.Name}";
            if (rules.IsBoundary(api))
            {
                // The delegates built for this call run on another thread.
                pendingDelegates.Clear();
                continue;
            }
            if (reference.TakesDelegate && pendingDelegates.Count > 0)
            {
                calls.AddRange(pendingDelegates.Select(d => new Call(d, null, 0)));
                pendingDelegates.Clear();
            }
            if (BlockingRules.IsAwaiter(reference.Type))
            {
                var counts = reference.Name == "GetResult" ? awaiterResults : reference.Name == "get_IsCompleted" ? awaiterChecks : null;
                if (counts is not null)
                {
                    counts[reference.Type] = counts.GetValueOrDefault(reference.Type) + 1;
                }
                continue;
            }
            var targets = Targets(reference, virtualCall: opCode == OpCodes.Callvirt).ToList();
            if (targets.Count > 0)
            {
                calls.AddRange(targets.Select(t => new Call(t, null, 0)));
            }
            else if (!_types.ContainsKey(reference.Type))
            {
                calls.Add(new Call(null, api, reference.ParameterCount));
            }
        }
        calls.AddRange(pendingDelegates.Select(d => new Call(d, null, 0)));
        // An await reads its awaiter's result only after IsCompleted (or the resumption); a GetResult without its
        // IsCompleted is a synchronous wait written as GetAwaiter().GetResult().
        foreach (var (type, results) in awaiterResults)
        {
            if (results > awaiterChecks.GetValueOrDefault(type))
            {
                calls.Add(new Call(null, $"{type}::GetResult", 0));
            }
        }
        return calls;
    }

    /// <summary>Our methods a call may land in: the method itself, and for virtual calls every override.</summary>
    private IEnumerable<MethodNode> Targets(MethodReference reference, bool virtualCall)
    {
        var key = Key(reference.Type, reference.Name, reference.ParameterCount);
        var direct = _byKey.GetValueOrDefault(key) ?? [];
        foreach (var method in direct)
        {
            yield return method;
        }
        if (!virtualCall || !_types.ContainsKey(reference.Type))
        {
            yield break;
        }
        var explicitSuffix = "." + reference.Name;
        foreach (var subtype in Subtypes(reference.Type))
        {
            if (subtype == reference.Type)
            {
                continue;
            }
            foreach (var method in _types[subtype].Methods)
            {
                if ((method.Name == reference.Name || method.Name.EndsWith(explicitSuffix, StringComparison.Ordinal))
                    && method.Key.EndsWith($"({reference.ParameterCount})", StringComparison.Ordinal))
                {
                    yield return method;
                }
            }
        }
    }

    private static int OperandSize(OperandType type) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,
    };

    private static MethodReference Resolve(MetadataReader reader, EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.MethodDefinition:
                {
                    var method = reader.GetMethodDefinition((MethodDefinitionHandle)handle);
                    var signature = method.DecodeSignature(SignatureNames.Instance, null);
                    return MethodReference.Of(TypeName(reader, method.GetDeclaringType()), reader.GetString(method.Name), signature, reader, method.GetDeclaringType());
                }
            case HandleKind.MemberReference:
                {
                    var member = reader.GetMemberReference((MemberReferenceHandle)handle);
                    var signature = member.DecodeMethodSignature(SignatureNames.Instance, null);
                    var parent = member.Parent.Kind == HandleKind.MethodDefinition
                        ? reader.GetMethodDefinition((MethodDefinitionHandle)member.Parent).GetDeclaringType()
                        : member.Parent;
                    return MethodReference.Of(TypeName(reader, parent), reader.GetString(member.Name), signature, reader, parent);
                }
            case HandleKind.MethodSpecification:
                return Resolve(reader, reader.GetMethodSpecification((MethodSpecificationHandle)handle).Method);
            default:
                return new MethodReference("?", "?", 0, false, false);
        }
    }

    public static string TypeName(MetadataReader reader, EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                {
                    var type = reader.GetTypeDefinition((TypeDefinitionHandle)handle);
                    var name = reader.GetString(type.Name);
                    var declaring = type.GetDeclaringType();
                    return declaring.IsNil ? Qualified(reader.GetString(type.Namespace), name) : TypeName(reader, declaring) + "/" + name;
                }
            case HandleKind.TypeReference:
                {
                    var type = reader.GetTypeReference((TypeReferenceHandle)handle);
                    var name = reader.GetString(type.Name);
                    return type.ResolutionScope.Kind == HandleKind.TypeReference
                        ? TypeName(reader, (TypeReferenceHandle)type.ResolutionScope) + "/" + name
                        : Qualified(reader.GetString(type.Namespace), name);
                }
            case HandleKind.TypeSpecification:
                return reader.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(SignatureNames.Instance, null);
            default:
                return "?";
        }
    }

    private static string Qualified(string ns, string name) => ns.Length == 0 ? name : ns + "." + name;
}

/// <summary>One method of ours in the graph.</summary>
public sealed class MethodNode(string key, string typeName, string name, PEReader pe, MetadataReader reader, MethodDefinitionHandle handle, int rva)
{
    public string Key { get; } = key;

    public string TypeName { get; } = typeName;

    public string Name { get; } = name;

    internal PEReader PE { get; } = pe;

    internal MetadataReader Reader { get; } = reader;

    internal MethodDefinitionHandle Handle { get; } = handle;

    internal int Rva { get; } = rva;

    public string DisplayName => $"{TypeName}::{Name}";

    /// <summary>
    /// The method as written in the source: a state machine's MoveNext, a lambda or a local function is named
    /// after the method it is written in (<c>Type::Method</c>), which is what the allow-list names.
    /// </summary>
    public string SourceName
    {
        get
        {
            var type = TypeName;
            var name = Name;
            var slash = type.LastIndexOf('/');
            if (slash > 0 && type[slash + 1] == '<')
            {
                var nested = type[(slash + 1)..];
                type = type[..slash];
                if (name == "MoveNext" && nested.Contains(">d", StringComparison.Ordinal))
                {
                    name = nested;
                }
                else if (!nested.StartsWith("<>", StringComparison.Ordinal))
                {
                    name = nested;
                }
            }
            while (name.StartsWith('<'))
            {
                var end = name.IndexOf('>', StringComparison.Ordinal);
                name = name[1..end].TrimStart('<');
            }
            // Display classes and lambda caches (<>c, <>c__DisplayClass) belong to their enclosing type.
            while (type.LastIndexOf('/') is var s && s > 0 && type[(s + 1)..].StartsWith('<'))
            {
                type = type[..s];
            }
            return $"{type}::{name}";
        }
    }

    public override string ToString() => Key;
}

internal sealed class TypeNode(string name, MetadataReader reader, TypeDefinitionHandle handle)
{
    public string Name { get; } = name;

    public MetadataReader Reader { get; } = reader;

    public TypeDefinitionHandle Handle { get; } = handle;

    public List<MethodNode> Methods { get; } = [];

    public List<string> Supertypes { get; } = [];
}

internal readonly record struct Call(MethodNode? Target, string? External, int ParameterCount);

/// <summary>A reachable blocking call: the API, why it blocks, the method calling it, and a path from an entry.</summary>
public sealed record Finding(string Api, string Reason, string Caller, List<string> Path)
{
    public override string ToString() => $"{Api} ({Reason}) in {Caller}\n      via {string.Join("\n       -> ", Path)}";
}

internal sealed record MethodReference(string Type, string Name, int ParameterCount, bool TakesDelegate, bool IsDelegateType)
{
    private static readonly string[] s_delegatePrefixes =
    [
        "System.Func`", "System.Action", "System.Predicate`", "System.Comparison`", "System.EventHandler", "System.Delegate", "System.MulticastDelegate",
        "System.Threading.TimerCallback", "System.Threading.WaitCallback", "System.Threading.ThreadStart", "System.Threading.ParameterizedThreadStart",
        "System.Threading.SendOrPostCallback", "System.Threading.ContextCallback",
    ];

    public static bool IsDelegate(string type) => s_delegatePrefixes.Any(p => type.StartsWith(p, StringComparison.Ordinal));

    public static MethodReference Of(string type, string name, MethodSignature<string> signature, MetadataReader reader, EntityHandle declaring)
    {
        var isDelegateType = IsDelegate(type) || (declaring.Kind == HandleKind.TypeDefinition
            && reader.GetTypeDefinition((TypeDefinitionHandle)declaring).BaseType is { IsNil: false } baseType
            && IlCallGraph.TypeName(reader, baseType) == "System.MulticastDelegate");
        return new MethodReference(type, name, signature.ParameterTypes.Length, signature.ParameterTypes.Any(IsDelegate), isDelegateType);
    }
}

/// <summary>Type names from signatures; a generic instantiation is named by its definition (<c>List`1</c>).</summary>
internal sealed class SignatureNames : ISignatureTypeProvider<string, object?>
{
    public static readonly SignatureNames Instance = new();

    public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[,]";

    public string GetByReferenceType(string elementType) => elementType;

    public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";

    public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => genericType;

    public string GetGenericMethodParameter(object? genericContext, int index) => "!!" + index;

    public string GetGenericTypeParameter(object? genericContext, int index) => "!" + index;

    public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;

    public string GetPinnedType(string elementType) => elementType;

    public string GetPointerType(string elementType) => elementType + "*";

    public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();

    public string GetSZArrayType(string elementType) => elementType + "[]";

    public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => IlCallGraph.TypeName(reader, handle);

    public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => IlCallGraph.TypeName(reader, handle);

    public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
        IlCallGraph.TypeName(reader, handle);
}
