using System.Collections.ObjectModel;

namespace Flowstore.Commands;

/// <summary>
/// New-FlowStorage's dynamic parameters, derived from a storage type's settings record: one parameter per
/// <see cref="StorageSettingAttribute"/> property, with its help message, mandatory flag, allowed values
/// (completion and validation) and range. Flags become switches, maps hashtables.
/// </summary>
internal static class StorageParameters
{
    public static RuntimeDefinedParameterDictionary For(StorageTypeInfo type)
    {
        var parameters = new RuntimeDefinedParameterDictionary();
        foreach (var setting in type.Settings)
        {
            var attributes = new Collection<Attribute>
            {
                new ParameterAttribute { Mandatory = setting.Mandatory, HelpMessage = setting.HelpMessage },
            };
            Type parameterType;
            if (setting.IsFlag)
            {
                parameterType = typeof(SwitchParameter);
            }
            else if (setting.IsMap)
            {
                parameterType = typeof(Hashtable);
            }
            else
            {
                parameterType = setting.ValueType;
                if (parameterType == typeof(string))
                {
                    attributes.Add(new ValidateNotNullOrEmptyAttribute());
                }
            }
            if (setting.ValidValues is { } values && !setting.ValueType.IsEnum)
            {
                attributes.Add(new ValidateSetAttribute(values.ToArray()) { IgnoreCase = true });
            }
            if (setting.Minimum is { } minimum)
            {
                attributes.Add(new ValidateRangeAttribute(minimum, int.MaxValue));
            }
            if (setting.Secret)
            {
                attributes.Add(new ArgumentCompleterAttribute(typeof(SecretNameCompleter)));
            }
            parameters.Add(setting.Name, new RuntimeDefinedParameter(setting.Name, parameterType, attributes));
        }
        return parameters;
    }

    /// <summary>A bound value as the settings factory takes it: switches as bool, PSObjects unwrapped.</summary>
    public static object? Unwrap(object? value) => value switch
    {
        SwitchParameter flag => flag.IsPresent,
        PSObject wrapped => Unwrap(wrapped.BaseObject),
        _ => value,
    };
}
