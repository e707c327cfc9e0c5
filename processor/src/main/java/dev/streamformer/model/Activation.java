package dev.streamformer.model;

import java.util.Locale;

/** The feed-forward activations of the Hugging Face ALBERT config ({@code hidden_act}). */
public enum Activation {
    /** Exact GELU, x * Phi(x) (PyTorch's default {@code gelu}). */
    GELU("gelu"),
    /** The tanh approximation of GELU used by the original BERT and ALBERT code. */
    GELU_NEW("gelu_new");

    private final String configName;

    Activation(final String configName) {
        this.configName = configName;
    }

    /** @return the name in config.json */
    public String configName() {
        return configName;
    }

    /**
     * @param name {@code hidden_act} from config.json
     * @return the activation
     */
    public static Activation parse(final String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh" -> GELU_NEW;
            default -> throw new IllegalArgumentException("hidden_act '" + name
                    + "' is not supported; use gelu or gelu_new");
        };
    }
}
